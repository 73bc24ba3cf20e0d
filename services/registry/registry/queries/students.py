"""Reads of one student record: the scope check every student route shares, and its status and flag history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.uow import UnitOfWork

from registry.adapters.tables import flag_history, orgs, status_history, students


async def visible_student(uow: UnitOfWork, student_id: str, caller: Principal) -> dict[str, Any]:
    """The record with its school's path, if the caller may see it; else 404 (one answer for
    \"absent\" and \"not yours\")."""
    row = (await uow.session.execute(
        select(students, orgs.c.path.label("school_path"))
        .join(orgs, orgs.c.code == students.c.school_code)
        .where(students.c.id == student_id))).mappings().first()
    if row is None or not audit.sees(caller, row["school_path"], row["class_id"]):
        raise NotFound(f"no student with id {student_id}")
    return dict(row)


async def status_history_of(uow: UnitOfWork, student_id: str) -> list[dict[str, Any]]:
    rows = (await uow.session.execute(
        select(status_history).where(status_history.c.student_id == student_id)
        .order_by(status_history.c.id))).mappings().all()
    return [dict(r) for r in rows]


async def flag_history_of(uow: UnitOfWork, student_id: str) -> list[dict[str, Any]]:
    rows = (await uow.session.execute(select(flag_history).where(flag_history.c.student_id == student_id)
                                      .order_by(flag_history.c.id))).mappings().all()
    return [dict(r) for r in rows]
