"""Reads of merged records (学籍合并): a merged record's id answers with the record it became.
The merge itself is ``registry.usecases.merges``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from registry.adapters.tables import student_merges
from registry.queries.students import get_student
from shared.auth import Principal
from shared.errors import NotFound
from shared.uow import UnitOfWork


async def merged_into(uow: UnitOfWork, student_id: str) -> str | None:
    return (await uow.session.execute(select(student_merges.c.kept_id).where(
        student_merges.c.merged_id == student_id))).scalar_one_or_none()


async def get_student_or_merged(uow: UnitOfWork, student_id: str, caller: Principal) -> dict[str, Any]:
    """The record; for a merged one, a 404 that says which record it became."""
    try:
        return await get_student(uow, student_id, caller)
    except NotFound as missing:
        kept = await merged_into(uow, student_id)
        if kept is None:
            raise
        try:
            await get_student(uow, kept, caller)
        except NotFound:
            raise missing from None  # the kept record is outside the caller's scope: the plain 404
        raise NotFound(f"student {student_id} was merged into {kept}", merged_into=kept) from None
