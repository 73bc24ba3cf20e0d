"""Scope look-ups the reads and the writes share: the org or the student a request names, found
in the cases service's own student directory (which the registry's events fill), or not found
when the caller does not see it. The place found is noted for the request's audit row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cases.adapters.tables import students
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.paths import naming
from shared.uow import UnitOfWork


async def locate_org(uow: UnitOfWork, org_code: str, caller: Principal) -> tuple[list[str], str | None]:
    """(the org's path, its kind) from the student directory, or 404 outside the caller's scope."""
    row = (await uow.session.execute(select(students.c.org_path, students.c.org_chain).where(
        naming(students.c.org_path, org_code)).limit(1))).first()
    if row is None or org_code not in row.org_path:
        raise NotFound(f"no organisation or class with code {org_code} in the cases directory")
    path = list(row.org_path[: row.org_path.index(org_code) + 1])
    if not caller.sees_org(path):
        raise NotFound(f"no organisation or class with code {org_code} in the cases directory")
    audit.note_place(path)
    return path, next((o.get("kind") for o in row.org_chain or [] if o.get("code") == org_code), None)


async def student_in_scope(uow: UnitOfWork, student_id: str, caller: Principal) -> Any:
    """The directory's row of the student, if the caller's scope covers them; else 404."""
    student = (await uow.session.execute(select(students).where(students.c.student_id == student_id))).mappings().first()
    if student is None or not caller.sees(student["org_path"], student["class_id"]):
        raise NotFound(f"no student with id {student_id} in the cases directory")
    audit.note_place(student["org_path"])
    return student
