"""Uploaded files (a home-teaching session's lesson plan, 教案) behind one storage interface.

``FileStore`` is what the use cases see; ``DatabaseFileStore``, the default, keeps the bytes in
the cases database, in the same transaction as the record that points at them, so a record
never points at a missing file and a refused upload leaves nothing. Another store (an object
store) implements the same two methods.

What is accepted is decided from the bytes, never from the name or the declared type: a PDF, a
DOCX (a ZIP holding word/document.xml), a PNG or a JPEG.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.adapters.tables import stored_files

ACCEPTED = {
    "application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
}


class BadFile(ValueError):
    pass


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str
    media_type: str
    size: int
    sha256: str


def sniff(content: bytes) -> str:
    """The file's media type from its bytes, or BadFile."""
    if not content:
        raise BadFile("the file is empty")
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        except zipfile.BadZipFile:
            raise BadFile("the file is a damaged ZIP archive") from None
    raise BadFile("a lesson plan is a PDF, a DOCX or an image (PNG, JPEG)")


class FileStore(Protocol):
    async def put(self, session: AsyncSession, content: bytes, *, filename: str, media_type: str,
                  at: datetime) -> StoredFile: ...

    async def get(self, session: AsyncSession, file_id: str) -> tuple[StoredFile, bytes] | None: ...


class DatabaseFileStore:
    async def put(self, session: AsyncSession, content: bytes, *, filename: str, media_type: str,
                  at: datetime) -> StoredFile:
        stored = StoredFile(str(uuid.uuid4()), filename, media_type, len(content), hashlib.sha256(content).hexdigest())
        await session.execute(insert(stored_files).values(
            id=stored.id, filename=filename, media_type=media_type, size=stored.size, sha256=stored.sha256,
            content=content, created_at=at))
        return stored

    async def get(self, session: AsyncSession, file_id: str) -> tuple[StoredFile, bytes] | None:
        row = (await session.execute(select(stored_files).where(stored_files.c.id == file_id))).mappings().first()
        if row is None:
            return None
        return StoredFile(row["id"], row["filename"], row["media_type"], row["size"], row["sha256"]), row["content"]


DEFAULT_STORE: FileStore = DatabaseFileStore()
