"""Request dependencies in Dispatch's style: the object a path names, looked up once and
answered 404 once when the caller does not see it (the route receives it found and visible).

Only routes whose sole input is the path use them: FastAPI solves dependencies before it
validates the route's own query parameters, so a dependency on a route with other parameters
would answer 404 where today a malformed query answers 422. The others call the public
functions of ``attendance.queries.scope`` themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from attendance.queries.scope import org_in_scope, student_in_scope
from shared.auth import PrincipalDep
from shared.service import UoWDep


async def visible_student(student_id: str, uow: UoWDep, caller: PrincipalDep) -> Any:
    """The student's roster row, or 404 (`no student with id ...`)."""
    return await student_in_scope(uow, student_id, caller)


VisibleStudent = Annotated[Any, Depends(visible_student)]


@dataclass(frozen=True)
class Org:
    code: str
    path: list[str]  # down to ``code``


async def visible_org(code: str, uow: UoWDep, caller: PrincipalDep) -> Org:
    """A school or region attendance knows (through its roster) and the caller sees, or 404."""
    return Org(code, await org_in_scope(uow, code, caller))


VisibleOrg = Annotated[Org, Depends(visible_org)]
