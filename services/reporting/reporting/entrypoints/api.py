"""Reporting HTTP routes: thin, each parses, calls one read function and maps the result."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from shared.auth import OFFICIALS, PrincipalDep, Role, access
from shared.export import Sheet, sheets_response
from shared.pagination import Page, PageDep
from shared.service import RuntimeDep, UoWDep
from shared.types import ORG_CODE_PATTERN

from reporting import summary as summaries
from reporting.entrypoints.deps import DayDep, FormatQuery, OrgCode, WeekDep, ZoneDep, iso_week
from reporting.entrypoints.page import CSP, weekly_page
from reporting.entrypoints.sheets import LEDGER_COLUMNS, LEDGER_TITLES, weekly_sheets
from reporting.ledgers import Filters, Ledger, ledger_rows
from reporting.rankings import RankBy, Unit, circular, rankings
from reporting.entrypoints.schemas import Circular, LedgerRow, Rankings, Summary, WeeklyReport
from reporting.weekly import open_cases_trend, weekly

router = APIRouter(prefix="/v1", tags=["reports"])


@router.get("/reports/summary", response_model=Summary, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_summary(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode, day: DayDep,
                      tz: ZoneDep):
    """Enrolment, dropout, returns, rates against targets and open cases for any org level in the
    caller's region and any day, primary and junior middle apart. `as_of` is the time of the
    newest event the figures include."""
    return await summaries.summary(uow, org_code, caller, day=day, tz=tz, targets=runtime.settings.targets)


@router.get("/reports/weekly", response_model=WeeklyReport, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_weekly(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode, week: WeekDep,
                     tz: ZoneDep, format: FormatQuery = "json") -> Response:
    """The Friday weekly report (周报) of a county (or any org): rates against targets, new absence
    episodes, cases opened/returned/closed, open cases by age, unacknowledged dual reports,
    overdue transfers and home visits, in total and per township and school, with the previous
    week beside it. CSV and XLSX have Chinese headings, one sheet (or CSV section) per part."""
    report = await weekly(uow, org_code, caller, week=week, tz=tz, targets=runtime.settings.targets)
    return sheets_response(format, weekly_sheets(report), filename=f"周报-{org_code}-{week}", body=report, model=WeeklyReport)


@router.get("/ledgers/{ledger}", response_model=Page[LedgerRow],
            **access(Role.school_staff, OFFICIALS, scope="object", audit=True))
async def get_ledger(uow: UoWDep, caller: PrincipalDep, ledger: Ledger, org_code: OrgCode, page: PageDep,
                     school_code: Annotated[str | None, Query(pattern=ORG_CODE_PATTERN)] = None,
                     grade: Annotated[int | None, Query(ge=1, le=9)] = None,
                     status: Annotated[str | None, Query(max_length=32)] = None,
                     flag: Annotated[str | None, Query(max_length=32)] = None,
                     format: FormatQuery = "json") -> Response:
    """The three ledgers (三个台账) of an org: `poor-households` (school-age children of registered
    poor households), `unable-to-study` (with the reason and the arrangement made), `dropouts`
    (every child who dropped out, with the persuasion work of the latest case). JSON is one page
    (`limit`, `offset`); CSV and XLSX hold every row that matches the filters. Every read is audited."""
    filters = Filters(school_code=school_code, grade=grade, status=status, flag=flag)
    rows, total = await ledger_rows(uow, ledger, org_code, caller, filters, page if format == "json" else None)
    sheet = Sheet(LEDGER_TITLES[ledger], LEDGER_COLUMNS[ledger], rows)
    return sheets_response(format, [sheet], filename=f"{LEDGER_TITLES[ledger]}-{org_code}", body=Page.of(rows, total, page),
                  model=Page[LedgerRow])


@router.get("/reports/rankings", response_model=Rankings, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_rankings(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode, day: DayDep,
                       tz: ZoneDep, by: RankBy = "dropout_rate", unit: Unit = "township",
                       level: Annotated[Literal["primary", "junior"] | None, Query()] = None):
    """The townships (or schools) under an org ranked, best first, by dropout rate or by case
    handling: mean hours from a case's opening to its first home visit, or to the child's return.
    Equal values share a rank; units with nothing to measure come last without one."""
    return await rankings(uow, org_code, caller, by=by, unit=unit, level=level, day=day, tz=tz,
                          targets=runtime.settings.targets)


@router.get("/reports/circular", response_model=Circular, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_circular(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode,
                       day: DayDep):
    """What the circular (通报) names: the no-dropout classes (无辍学班级) and the laggards, every
    township and school whose rates are at risk or off target, the worst first."""
    return await circular(uow, org_code, caller, day=day, targets=runtime.settings.targets)


@router.get("/reports/weekly/{org_code}/{week}.html", response_class=HTMLResponse,
            **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_weekly_page(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: str, week: str,
                          tz: ZoneDep) -> HTMLResponse:
    """The weekly report as a page to look at: a dropout-rate bar chart per township and the open
    cases at each of the last eight Friday cut-offs, drawn on the server as SVG (no external CDN)."""
    iso = iso_week(runtime, week)
    report = await weekly(uow, org_code, caller, week=iso, tz=tz, targets=runtime.settings.targets)
    trend = await open_cases_trend(uow, org_code, caller, week=iso, tz=tz)
    return HTMLResponse(weekly_page(report, trend, tz), headers={"Content-Security-Policy": CSP})
