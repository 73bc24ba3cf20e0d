"""Request dependencies the registry routes share."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from registry.queries.students import visible_student
from shared.auth import OFFICIALS, PrincipalDep, Role
from shared.service import UoWDep

STAFF = (Role.school_staff, OFFICIALS)


async def _visible_student(student_id: str, uow: UoWDep, caller: PrincipalDep) -> dict[str, Any]:
    return await visible_student(uow, student_id, caller)


VisibleStudent = Annotated[dict[str, Any], Depends(_visible_student)]
"""The record the path's ``{student_id}`` names, looked up and scope-checked once: a 404 problem
if it is absent or outside the caller's region (Dispatch's ``CurrentCase``)."""
