"""Reporting HTTP routes: thin, each parses, calls one read function and maps the result."""

from __future__ import annotations

from fastapi import APIRouter

from shared.auth import OFFICIALS, PrincipalDep, Role, access
from shared.service import RuntimeDep, UoWDep

from reporting import summary as summaries
from reporting.entrypoints.deps import DayDep, OrgCode, ZoneDep
from reporting.entrypoints.schemas import Summary

router = APIRouter(prefix="/v1", tags=["reports"])


@router.get("/reports/summary", response_model=Summary, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_summary(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode, day: DayDep,
                      tz: ZoneDep):
    """Enrolment, dropout, returns, rates against targets and open cases for any org level in the
    caller's region and any day, primary and junior middle apart. `as_of` is the time of the
    newest event the figures include."""
    return await summaries.summary(uow, org_code, caller, day=day, tz=tz, targets=runtime.settings.targets)
