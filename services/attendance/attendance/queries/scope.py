"""Scope look-ups: the class, org or student a request names, or not found when the caller
does not see it (attendance knows classes and orgs through its roster)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from attendance.adapters.tables import roster
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.paths import naming
from shared.uow import UnitOfWork


async def class_in_scope(uow: UnitOfWork, class_id: str, caller: Principal) -> Any:
    """A class is known through its students on the roster; outside the caller's scope it is not found."""
    row = (await uow.session.execute(
        select(roster.c.org_path, roster.c.school_code).where(roster.c.class_id == class_id).limit(1))).first()
    if row is None or not caller.sees(row.org_path, class_id):
        raise NotFound(f"no class with id {class_id}")
    audit.note_place(row.org_path)
    return row


def under(code: str):
    """Roster rows at or below an org code (a school, or any region above it)."""
    return or_(roster.c.school_code == code, naming(roster.c.org_path, code))


async def org_in_scope(uow: UnitOfWork, code: str, caller: Principal) -> list[str]:
    """The org path down to ``code`` (a school or a region above it), if attendance knows it and the
    caller sees it."""
    row = (await uow.session.execute(select(roster.c.org_path).where(under(code)).limit(1))).first()
    path = list(row.org_path[: row.org_path.index(code) + 1]) if row is not None and code in row.org_path else None
    if path is None or not caller.sees_org(path):
        raise NotFound(f"no school or region with code {code} known to attendance")
    audit.note_place(path)
    return path


async def student_in_scope(uow: UnitOfWork, student_id: str, caller: Principal) -> Any:
    row = (await uow.session.execute(select(roster).where(roster.c.student_id == student_id))).first()
    if row is None or not caller.sees(row.org_path, row.class_id):
        raise NotFound(f"no student with id {student_id} on any roster")
    audit.note_place(row.org_path)
    return row


async def school_in_scope(uow: UnitOfWork, school_code: str, caller: Principal) -> list[str]:
    """The org path of a school attendance knows (through its roster) and the caller sees."""
    row = (await uow.session.execute(
        select(roster.c.org_path).where(roster.c.school_code == school_code).limit(1))).first()
    if row is None or not caller.sees_org(row.org_path):
        raise NotFound(f"no school with code {school_code} known to attendance")
    audit.note_place(row.org_path)
    return row.org_path
