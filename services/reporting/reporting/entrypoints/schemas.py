from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel

TargetStatus = Literal["on_target", "at_risk", "off_target"]


class Figures(BaseModel):
    enrolled: int
    dropped_out: int
    returned: int
    graduated: int
    on_roll: int
    dropout_rate: float | None
    retention_rate: float | None
    open_cases: int
    status: TargetStatus | None


class Targets(BaseModel):
    junior_dropout_max: float
    primary_dropout_max: float
    retention_min: float
    margin: float


class SystemFigures(Figures):
    levels: dict[str, Figures]


class Summary(Figures):
    org_code: str
    org_name: str
    org_kind: str
    date: date
    levels: dict[str, Figures]
    # Keyed by school system (6+3, 5+4, nine_year, twelve_year): only those present under the org.
    systems: dict[str, SystemFigures]
    targets: Targets
    as_of: datetime | None


class IndicatorPart(BaseModel):
    value: float | None
    numerator: int | None
    denominator: int | None
    counted: str | None
    reason: str | None
    awaiting: list[str]


class Indicator(BaseModel):
    name: str
    standing: Literal["known", "partial", "unknown"]
    parts: dict[str, IndicatorPart]


class Indicators(BaseModel):
    monitoring: Indicator
    responsibility: Indicator


class WeekFigures(Figures):
    levels: dict[str, Figures]
    new_absence_episodes: int
    cases_opened: int
    cases_returned: int
    cases_closed: int
    home_visits: int
    unacknowledged_dual_reports: int
    overdue_transfers: int
    open_cases_by_age: dict[str, int]
    # 责任落实, cases part: open cases confirmed as dropouts by the cut-off, and of them those that
    # had moved to persuading (so had a responsible person and a plan); see Indicators.
    confirmed_open_cases: int
    cases_with_responsible_and_plan: int


class Period(BaseModel):
    start: datetime
    cutoff: datetime


class WeekTotals(BaseModel):
    current: WeekFigures
    previous: WeekFigures
    change: dict[str, float | None]


class UnitWeek(BaseModel):
    code: str
    name: str
    township_code: str | None
    current: WeekFigures
    previous: WeekFigures


class WeeklyReport(BaseModel):
    org_code: str
    org_name: str
    org_kind: str
    week: str
    friday: date
    period: Period
    totals: WeekTotals
    townships: list[UnitWeek]
    schools: list[UnitWeek]
    indicators: Indicators
    as_of: datetime | None


class RankRow(BaseModel):
    code: str
    name: str
    rank: int | None
    value: float | None
    enrolled: int | None = None
    dropped_out: int | None = None
    status: TargetStatus | None = None
    cases: int | None = None
    done: int | None = None


class Rankings(BaseModel):
    org_code: str
    org_name: str
    by: str
    unit: str
    level: str | None
    date: date
    rows: list[RankRow]
    as_of: datetime | None


class NoDropoutClass(BaseModel):
    class_id: str
    school_code: str
    school_name: str | None
    grade: int
    on_roll: int


class Laggard(BaseModel):
    code: str
    name: str
    kind: str
    level: str
    status: TargetStatus
    dropout_rate: float | None
    retention_rate: float | None
    dropped_out: int


class Circular(BaseModel):
    org_code: str
    org_name: str
    date: date
    classes: int
    no_dropout_classes: list[NoDropoutClass]
    laggards: list[Laggard]
    as_of: datetime | None


class LedgerRow(BaseModel):
    student_id: str
    name: str | None
    national_id_masked: str | None
    gender: str | None
    birth_date: date | None
    school_code: str | None
    school_name: str | None
    grade: int
    class_id: str | None
    status: str
    status_since: date | None
    status_reason: str | None
    flags: list[str]
    enrolled_on: date | None
    arrangement: str | None = None
    dropped_on: date | None = None
    dropout_reason: str | None = None
    case_id: str | None = None
    case_status: str | None = None
    opened_at: datetime | None = None
    first_visit_at: datetime | None = None
    home_visits: int | None = None
    returned_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None


class Unknown(BaseModel):
    """A figure the read model cannot count yet: never 0, always the reason and what it waits for."""
    value: float | None
    reason: str | None
    awaiting: list[str]


class MonthFigures(BaseModel):
    enrolled_at_start: int
    new_enrolments: int
    returned: int
    transferred_in: int
    dropped_out: int
    transferred_out: int
    enrolled_at_end: int
    out_at_end: int
    home_visits: int
    roll: int
    dropout_rate: float | None
    # Null while unknown; MonthlyReport.unknown says why (never 0).
    attendance_rate: float | None
    roll_call_completeness: float | None


class ClassMonth(MonthFigures):
    school_code: str
    school_name: str | None
    township_code: str | None
    class_id: str
    grade: int
    rank: int | None
    no_dropout: bool


class SchoolMonth(MonthFigures):
    school_code: str
    school_name: str | None
    township_code: str | None
    classes: int
    no_dropout_classes: int


class MonthTotals(MonthFigures):
    classes: int
    no_dropout_classes: int


class MonthPeriod(BaseModel):
    first_day: date
    last_day: date
    start: datetime
    end: datetime


class NoDropoutClassMonth(BaseModel):
    school_code: str
    school_name: str | None
    class_id: str
    grade: int
    enrolled_at_end: int


class MonthlyReport(BaseModel):
    org_code: str
    org_name: str
    org_kind: str
    month: str
    period: MonthPeriod
    totals: MonthTotals
    classes: list[ClassMonth]
    schools: list[SchoolMonth]
    no_dropout_classes: list[NoDropoutClassMonth]
    unknown: dict[str, Unknown]
    as_of: datetime | None


class SubmissionSummary(BaseModel):
    id: int
    kind: Literal["weekly", "monthly"]
    org_code: str
    period: str
    submitted_at: datetime
    submitted_by: str
    submitted_role: str
    sha256: str


class FigureChange(BaseModel):
    path: str
    submitted: float | int | str | bool | None
    now: float | int | str | bool | None


class Submission(SubmissionSummary):
    """The figures as submitted, and what a recomputation now says differently."""
    # The submitted JSON exactly as frozen (its SHA-256 is over these bytes): not re-shaped by
    # today's report model, which may have gained fields since.
    figures: dict[str, Any]
    changed: bool
    changes: list[FigureChange]
    recomputed_as_of: datetime | None


class Submissions(BaseModel):
    items: list[SubmissionSummary]


class CountyStanding(BaseModel):
    code: str
    name: str
    standing: Literal["on_time", "late", "missing", "pending"]
    first_submitted_at: datetime | None
    last_submitted_at: datetime | None
    submissions: int
    latest_id: int | None


class WeeklyStandings(BaseModel):
    org_code: str
    org_name: str
    week: str
    deadline: datetime
    counties: list[CountyStanding]
