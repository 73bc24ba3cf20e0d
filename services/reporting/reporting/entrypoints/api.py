"""Reporting HTTP routes: thin, each parses, calls one read function and maps the result."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from shared.auth import OFFICIALS, PrincipalDep, Role, access
from shared.service import RuntimeDep, UoWDep

from reporting import summary as summaries
from reporting.adapters.export import export
from reporting.entrypoints.deps import DayDep, FormatQuery, OrgCode, WeekDep, ZoneDep
from reporting.entrypoints.sheets import weekly_sheets
from reporting.entrypoints.schemas import Summary
from reporting.weekly import weekly

router = APIRouter(prefix="/v1", tags=["reports"])


@router.get("/reports/summary", response_model=Summary, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_summary(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode, day: DayDep,
                      tz: ZoneDep):
    """Enrolment, dropout, returns, rates against targets and open cases for any org level in the
    caller's region and any day, primary and junior middle apart. `as_of` is the time of the
    newest event the figures include."""
    return await summaries.summary(uow, org_code, caller, day=day, tz=tz, targets=runtime.settings.targets)


@router.get("/reports/weekly", response_model=None, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_weekly(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode, week: WeekDep,
                     tz: ZoneDep, format: FormatQuery = "json") -> Response:
    """The Friday weekly report (周报) of a county (or any org): rates against targets, new absence
    episodes, cases opened/returned/closed, open cases by age, unacknowledged dual reports,
    overdue transfers and home visits, in total and per township and school, with the previous
    week beside it. CSV and XLSX have Chinese headings, one sheet (or CSV section) per part."""
    report = await weekly(uow, org_code, caller, week=week, tz=tz, targets=runtime.settings.targets)
    return export(format, weekly_sheets(report), filename=f"周报-{org_code}-{week}", body=report)
