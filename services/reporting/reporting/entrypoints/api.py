"""Reporting HTTP routes: thin, each parses, calls one read function and maps the result."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from reporting.entrypoints.deps import (
    DayDep,
    FormatQuery,
    MonthDep,
    OrgCode,
    WeekDep,
    ZoneDep,
    calendar_month,
    iso_week,
)
from reporting.entrypoints.page import CSP, submission_page, weekly_page
from reporting.entrypoints.schemas.completeness import CompletenessReport
from reporting.entrypoints.schemas.ledgers import LedgerRow
from reporting.entrypoints.schemas.monthly import MonthlyReport
from reporting.entrypoints.schemas.rankings import Circular, Rankings
from reporting.entrypoints.schemas.submissions import Submission, Submissions, SubmissionSummary
from reporting.entrypoints.schemas.summary import Summary, TargetsIn, TargetsView
from reporting.entrypoints.schemas.weekly import WeeklyReport, WeeklyStandings
from reporting.entrypoints.sheets import LEDGER_COLUMNS, LEDGER_TITLES, monthly_sheets, weekly_sheets
from reporting.queries import submissions as submitted
from reporting.queries import summary as summaries
from reporting.queries import targets as target_reads
from reporting.queries.completeness import Period as CompletenessPeriod
from reporting.queries.completeness import Unit as CompletenessUnit
from reporting.queries.completeness import completeness
from reporting.queries.ledgers import Filters, Ledger, ledger_rows
from reporting.queries.monthly import monthly
from reporting.queries.rankings import RankBy, Unit, circular, rankings
from reporting.queries.weekly import open_cases_trend, weekly
from reporting.usecases import submissions as frozen
from reporting.usecases import targets as target_book
from shared.auth import OFFICIALS, PrincipalDep, Role, access
from shared.export import EXPORT_RESPONSES, Sheet, sheets_response
from shared.pagination import Page, PageDep
from shared.service import RuntimeDep, UoWDep
from shared.types import ORG_CODE_PATTERN, Day

router = APIRouter(prefix="/v1", tags=["reports"])
# Who reads a county's submissions: the county itself and those it reports to.
RECEIVERS = (Role.county_official, Role.city_official, Role.province_official)
# format=csv|xlsx: the same report as a download (the document must name those media types too).
DOWNLOADS = {200: {**EXPORT_RESPONSES[200], "description": "JSON, or with format=csv|xlsx the same report as "
                                                           "CSV (UTF-8 with BOM) or XLSX with Chinese headings"}}


@router.get("/reports/summary", response_model=Summary, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_summary(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode, day: DayDep,
                      tz: ZoneDep):
    """Enrolment, dropout, returns, rates against targets and open cases for any org level in the
    caller's region and any day, primary and junior middle apart. `as_of` is the time of the
    newest event the figures include."""
    return await summaries.summary(uow, org_code, caller, day=day, tz=tz, targets=runtime.settings.targets,
                                   year=runtime.settings.school_year(day))


@router.get("/reports/roll-call-completeness", response_model=CompletenessReport,
            **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_roll_call_completeness(uow: UoWDep, caller: PrincipalDep, org_code: OrgCode,
                                     start: Annotated[Day, Query(alias="from")],
                                     end: Annotated[Day, Query(alias="to")],
                                     unit: CompletenessUnit = "school", period: CompletenessPeriod = "day"):
    """Roll-call completeness (动态监测) under an org, per school, township or county and per day or
    ISO week: class-sessions expected (am and pm on each school day inside a stored term, for each
    class on the roll), taken, taken on time, and the two rates (null when nothing was expected).
    Counted from attendance's roll_call.recorded and roll_call.missing."""
    return await completeness(uow, org_code, caller, start=start, end=end, unit=unit, period=period)


@router.get("/reports/weekly", response_model=WeeklyReport,
            **access(Role.school_staff, OFFICIALS, scope="object", audit=True, responses=DOWNLOADS))
async def get_weekly(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode, week: WeekDep,
                     tz: ZoneDep, format: FormatQuery = "json") -> Response:
    """The Friday weekly report (周报) of a county (or any org): rates against targets, new absence
    episodes, cases opened/returned/closed, open cases by age, unacknowledged dual reports,
    overdue transfers and home visits, in total and per township and school, with the previous
    week beside it, and the two indicators (责任落实, 动态监测, naming the schools whose roll calls
    lag): unknown, never 0, where there is nothing to count. CSV and XLSX have Chinese headings, one sheet (or CSV section)
    per part. Every read is audited (an export as it comes)."""
    report = await weekly(uow, org_code, caller, week=week, tz=tz, targets=runtime.settings.targets,
                            year_of=runtime.settings.school_year)
    return sheets_response(format, weekly_sheets(report), filename=f"周报-{org_code}-{week}", body=report, model=WeeklyReport)


@router.get("/ledgers/{ledger}", response_model=Page[LedgerRow],
            **access(Role.school_staff, OFFICIALS, scope="object", audit=True, responses=DOWNLOADS))
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
                          targets=runtime.settings.targets, year=runtime.settings.school_year(day))


@router.get("/reports/circular", response_model=Circular, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_circular(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode,
                       day: DayDep):
    """What the circular (通报) names: the no-dropout classes (无辍学班级) and the laggards, every
    township and school whose rates are at risk or off target, the worst first."""
    return await circular(uow, org_code, caller, day=day, targets=runtime.settings.targets,
                          year=runtime.settings.school_year(day))


@router.get("/reports/weekly/{org_code}/{week}.html", response_class=HTMLResponse,
            **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_weekly_page(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: str, week: str,
                          tz: ZoneDep) -> HTMLResponse:
    """The weekly report as a page to look at: a dropout-rate bar chart per township and the open
    cases at each of the last eight Friday cut-offs, drawn on the server as SVG (no external CDN)."""
    iso = iso_week(runtime, week)
    report = await weekly(uow, org_code, caller, week=iso, tz=tz, targets=runtime.settings.targets,
                          year_of=runtime.settings.school_year)
    trend = await open_cases_trend(uow, org_code, caller, week=iso, tz=tz)
    return HTMLResponse(weekly_page(report, trend, tz), headers={"Content-Security-Policy": CSP})


@router.get("/reports/monthly", response_model=MonthlyReport,
            **access(Role.school_staff, OFFICIALS, scope="object", audit=True, responses=DOWNLOADS))
async def get_monthly(uow: UoWDep, caller: PrincipalDep, org_code: OrgCode, month: MonthDep, tz: ZoneDep,
                      format: FormatQuery = "json") -> Response:
    """The monthly dropout report per class (学校辍学月报表) of a school, township or county: per
    class, enrolled at the month's start, new enrolments, returns, transfers in and out,
    dropouts, enrolled at its end, home visits; the attendance rate and roll-call completeness
    from attendance's roll-call events (null, never 0, for a class with none; `unknown` says why
    when the org had none in the month). Classes ranked within their
    school by the month's dropout rate (量化评比), the no-dropout classes (无辍学班级) named. CSV
    and XLSX have Chinese headings. Every read is audited."""
    report = await monthly(uow, org_code, caller, month=month, tz=tz)
    return sheets_response(format, monthly_sheets(report), filename=f"辍学月报-{org_code}-{month}", body=report,
                           model=MonthlyReport)


# --- targets (一县一策) ---------------------------------------------------------------------

TargetOrg = Annotated[str, Path(pattern=ORG_CODE_PATTERN, description="The org whose own targets these are")]
# Who sets targets: a county for itself and its schools, a city or province for itself and what
# lies under it. Townships and schools read them.
SETTERS = (Role.county_official, Role.city_official, Role.province_official)


@router.put("/targets/{org_code}", response_model=TargetsView, **access(*SETTERS, scope="object"))
async def put_targets(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: TargetOrg,
                      body: TargetsIn):
    """Set an org's own targets (一县一策): 初中/小学年辍学率 at most, 在校生巩固率 at least, as
    fractions. Replaces what the org had; a field left out is inherited from the nearest org above
    that sets it, else the default. Every report judges each org against its own."""
    return await target_book.put(uow, org_code, caller, body.model_dump(), runtime.settings.targets,
                                 runtime.clock.now())


@router.get("/targets/{org_code}", response_model=TargetsView, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_targets(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: TargetOrg):
    """An org's own targets, the effective ones and where each comes from (the org, one above, or
    the default)."""
    return await target_reads.show(uow, org_code, caller, runtime.settings.targets)


# --- frozen submissions -------------------------------------------------------------------

Kind = Literal["weekly", "monthly"]
CountyCode = Annotated[str, Path(min_length=1, max_length=32, description="The county that submits")]
Period = Annotated[str, Path(max_length=8, description="YYYY-Www for weekly, YYYY-MM for monthly")]
SubmissionId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # an INTEGER column on PostgreSQL


def _report_now(uow, caller, runtime, tz, kind: Kind, org_code: str, period: str) -> tuple[str, submitted.Compute]:
    """The period (a week YYYY-Www or a month YYYY-MM, checked) and how to compute the report
    as GET answers it, as JSON."""
    if kind == "weekly":
        week = iso_week(runtime, period)

        async def compute():
            report = await weekly(uow, org_code, caller, week=week, tz=tz, targets=runtime.settings.targets,
                            year_of=runtime.settings.school_year)
            return WeeklyReport.model_validate(report).model_dump(mode="json")
        return str(week), compute
    month = calendar_month(runtime, period)

    async def compute_month():
        return MonthlyReport.model_validate(await monthly(uow, org_code, caller, month=month, tz=tz)).model_dump(mode="json")
    return str(month), compute_month


@router.get("/reports/weekly/submissions", response_model=WeeklyStandings, **access(*RECEIVERS, scope="object"))
async def get_weekly_standings(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, org_code: OrgCode,
                               week: WeekDep, tz: ZoneDep):
    """For a city (or a province): every county under it and whether it submitted the week's
    report by the deadline (`BAOXUE_WEEKLY_DEADLINE`, Friday 18:00 local by default), late, or
    not at all (`pending` while the deadline has not passed, `missing` after it). A county's
    first submission decides; later ones are corrections."""
    return await submitted.standings(uow, org_code, week, caller, deadline=runtime.settings.deadline, tz=tz,
                                     now=runtime.clock.now())


@router.post("/reports/{kind}/{org_code}/{period}/submissions", status_code=201, response_model=SubmissionSummary,
             **access(Role.county_official, scope="object"))
async def submit_report(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, kind: Kind, org_code: CountyCode,
                        period: Period, tz: ZoneDep):
    """A county official submits the county's weekly report (周报, period `YYYY-Www`) or monthly
    report (月报, `YYYY-MM`) to the city: the figures as they stand now are kept as canonical JSON
    (keys sorted, no whitespace, UTF-8) with its SHA-256, who and when. Submitting again keeps
    both (a correction)."""
    period, compute = _report_now(uow, caller, runtime, tz, kind, org_code, period)
    return await frozen.submit(uow, kind, org_code, period, caller, compute)


@router.get("/reports/{kind}/{org_code}/{period}/submissions", response_model=Submissions,
            **access(*RECEIVERS, scope="object"))
async def list_submissions(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, kind: Kind, org_code: CountyCode,
                           period: Period, tz: ZoneDep):
    """The county's submissions of the week's (or month's) report, newest first."""
    period, _ = _report_now(uow, caller, runtime, tz, kind, org_code, period)
    return await submitted.listed(uow, kind, org_code, period, caller)


# Registered before the JSON route: "{submission_id}" would otherwise take "7.html" and refuse it.
@router.get("/reports/{kind}/{org_code}/{period}/submissions/{submission_id}.html", response_class=HTMLResponse,
            **access(*RECEIVERS, scope="object"))
async def get_submission_page(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, kind: Kind, org_code: CountyCode,
                              period: Period, submission_id: SubmissionId, tz: ZoneDep) -> HTMLResponse:
    """The submission as a page for the city: who sent it and when, its digest, and whether the
    figures have changed since, with a row per changed figure (submitted, now)."""
    period, compute = _report_now(uow, caller, runtime, tz, kind, org_code, period)
    sub = await submitted.shown(uow, kind, org_code, period, submission_id, caller, compute)
    return HTMLResponse(submission_page(Submission.model_validate(sub).model_dump(), tz),
                        headers={"Content-Security-Policy": CSP})


@router.get("/reports/{kind}/{org_code}/{period}/submissions/{submission_id}", response_model=Submission,
            **access(*RECEIVERS, scope="object"))
async def get_submission(uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep, kind: Kind, org_code: CountyCode,
                         period: Period, submission_id: SubmissionId, tz: ZoneDep):
    """One submission: the figures as submitted and, if later data changed them, every figure
    that differs now (`changes`: path, submitted, now)."""
    period, compute = _report_now(uow, caller, runtime, tz, kind, org_code, period)
    return await submitted.shown(uow, kind, org_code, period, submission_id, caller, compute)
