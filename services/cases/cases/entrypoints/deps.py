"""FastAPI dependencies of the cases routes, in Netflix Dispatch's style: the case a route works
on is looked up by its id, checked against the caller's scope and answered 404 once, here; a
route names ``VisibleCase`` rather than repeating the lookup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Path

from cases.queries.case import visible_case
from shared.auth import PrincipalDep
from shared.service import UoWDep


async def _visible_case(case_id: str, uow: UoWDep, caller: PrincipalDep) -> Mapping[str, Any]:
    return await visible_case(uow, case_id, caller)


async def _visible_ladder_case(case_id: Annotated[str, Path(max_length=36)], uow: UoWDep,
                               caller: PrincipalDep) -> Mapping[str, Any]:
    return await visible_case(uow, case_id, caller)


# The case of the route's ``{case_id}``, visible to the caller (or the 404 problem).
VisibleCase = Annotated[Mapping[str, Any], Depends(_visible_case)]
# The same for the legal ladder's routes, whose ids are bounded (36 characters) in the path.
VisibleLadderCase = Annotated[Mapping[str, Any], Depends(_visible_ladder_case)]
