"""Reads of the legal ladder: a case's steps with their documents' digests and whether each is
overdue, and a step's document as generated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cases.adapters.tables import legal_documents, legal_steps
from cases.domain.ladder import Response, overdue
from shared.errors import NotFound
from shared.uow import UnitOfWork

DOCUMENT_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "pdf": "application/pdf"}


async def legal_steps_of(uow: UnitOfWork, case_id: str, tz: str) -> list[dict[str, Any]]:
    """The case's steps, oldest served first. ``tz`` dates a step's deadline (local days)."""
    steps = [dict(r) for r in (await uow.session.execute(select(legal_steps).where(
        legal_steps.c.case_id == case_id).order_by(legal_steps.c.served_on, legal_steps.c.recorded_at))).mappings()]
    docs = (await uow.session.execute(
        select(legal_documents.c.step_id, legal_documents.c.format, legal_documents.c.sha256, legal_documents.c.size)
        .where(legal_documents.c.step_id.in_([s["id"] for s in steps])).order_by(legal_documents.c.format)
    )).mappings().all()
    today = uow.clock.now().astimezone(ZoneInfo(tz)).date()
    for s in steps:
        s["documents"] = [{"format": d["format"], "sha256": d["sha256"], "size": d["size"],
                           "media_type": DOCUMENT_TYPES[d["format"]]} for d in docs if d["step_id"] == s["id"]]
        s["overdue"] = overdue(s["deadline"], Response(s["response"]) if s["response"] else None, today)
    return steps


async def legal_document(uow: UnitOfWork, case: Mapping[str, Any], step_id: str, fmt: str) -> tuple[bytes, str]:
    case_id = case["id"]
    row = (await uow.session.execute(
        select(legal_documents.c.content, legal_documents.c.sha256).join(
            legal_steps, legal_steps.c.id == legal_documents.c.step_id)
        .where(legal_steps.c.case_id == case_id, legal_documents.c.step_id == step_id,
               legal_documents.c.format == fmt))).first()
    if row is None:
        raise NotFound(f"case {case_id} has no {fmt} document for step {step_id}")
    return row.content, row.sha256
