from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TargetStatus = Literal["on_target", "at_risk", "off_target"]


class Figures(BaseModel):
    # Counts on the day (as of D).
    enrolled: int
    dropped_out: int
    returned: int
    graduated: int
    on_roll: int
    # Shares on the day: NOT the statutory rates (dropouts on the roll / on roll; the old
    # "retention" that every graduate ever recorded raises). Kept for continuity only.
    day_dropout_share: float | None
    day_retention_share: float | None
    # The school year to D (README "Statutory rates"): 学年初在校学生数, the year's dropouts (each
    # child once), normal transfers in and out, and the base net of them.
    start_roll: int
    year_dropouts: int
    transfers_in: int
    transfers_out: int
    net_roll: int
    dropout_rate: float | None      # 年辍学率 = year_dropouts / start_roll
    retention_rate: float | None    # 在校生巩固率 = (net_roll - year_dropouts) / net_roll
    open_cases: int
    status: TargetStatus | None


class Targets(BaseModel):
    junior_dropout_max: float
    primary_dropout_max: float
    retention_min: float
    margin: float


Share = Field(default=None, ge=0, le=1, description="A fraction: 0.02 is 2 %; null inherits it")


class TargetsIn(BaseModel):
    """An org's own targets (一县一策). A field left out or null is inherited from the nearest org
    above that sets it, else the default (settings)."""
    model_config = ConfigDict(extra="forbid")
    junior_dropout_max: float | None = Share   # 初中年辍学率 at most
    primary_dropout_max: float | None = Share  # 小学年辍学率 at most
    retention_min: float | None = Share        # 在校生巩固率 at least


class OwnTargets(BaseModel):
    junior_dropout_max: float | None
    primary_dropout_max: float | None
    retention_min: float | None


class TargetsView(BaseModel):
    org_code: str
    org_name: str
    org_kind: str
    own: OwnTargets
    effective: Targets
    # Where each effective target comes from: an org code (this one, or one above) or "default".
    sources: dict[str, str]
    set_at: datetime | None
    set_by: str | None


class SystemFigures(Figures):
    levels: dict[str, Figures]


class SchoolYearInfo(BaseModel):
    name: str          # 2026-2027
    first_day: date
    last_day: date
    through: date      # the statutory flows are counted from first_day to this day


class NineYearRetention(BaseModel):
    """九年义务教育巩固率: null with the reason when the records do not reach the cohort's entry."""
    value: float | None
    graduates: int | None
    entrants: int | None
    cohort_entered: str
    reason: str | None


class Summary(Figures):
    org_code: str
    org_name: str
    org_kind: str
    date: date
    school_year: SchoolYearInfo
    nine_year_retention: NineYearRetention
    levels: dict[str, Figures]
    # Keyed by school system (6+3, 5+4, nine_year, twelve_year): only those present under the org.
    systems: dict[str, SystemFigures]
    targets: Targets                 # the org's own (一县一策), else inherited, else the defaults
    target_sources: dict[str, str]
    as_of: datetime | None


class IndicatorPart(BaseModel):
    value: float | None
    numerator: int | None
    denominator: int | None
    counted: str | None
    reason: str | None
    awaiting: list[str]


class LaggingSchool(BaseModel):
    code: str
    name: str | None
    expected: int
    taken: int
    rate: float = Field(description="taken / expected roll calls in the week")


class Indicator(BaseModel):
    name: str
    standing: Literal["known", "partial", "unknown"]
    parts: dict[str, IndicatorPart]
    lagging: list[LaggingSchool] = Field(
        default_factory=list, description="动态监测: schools below 95 % of their expected roll calls, worst first")


class CompletenessFigures(BaseModel):
    expected: int
    taken: int
    taken_on_time: int
    completeness_rate: float | None = Field(description="taken / expected; null when nothing was expected")
    timeliness_rate: float | None = Field(description="taken on time / expected")


class CompletenessItem(CompletenessFigures):
    unit_code: str | None = Field(description="null: sessions of schools with no unit of that kind (a county-run school has no township)")
    unit_name: str | None
    period: str = Field(description="a date, or an ISO week YYYY-Www")


class CompletenessReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    org_code: str
    from_: date = Field(alias="from")
    to: date
    unit: Literal["school", "township", "county"]
    period: Literal["day", "week"]
    totals: CompletenessFigures
    items: list[CompletenessItem]


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


class LaggingCounty(BaseModel):
    code: str
    name: str
    status: TargetStatus
    levels: list[str]
    dropout_rate: float | None
    retention_rate: float | None
    year_dropouts: int
    start_roll: int


class WeeklyReport(BaseModel):
    org_code: str
    org_name: str
    org_kind: str
    week: str
    friday: date
    period: Period
    school_year: SchoolYearInfo
    totals: WeekTotals
    counties: list[UnitWeek]
    townships: list[UnitWeek]
    schools: list[UnitWeek]
    lagging_counties: list[LaggingCounty]
    indicators: Indicators
    as_of: datetime | None


class RankRow(BaseModel):
    code: str
    name: str
    rank: int | None
    value: float | None
    enrolled: int | None = None
    dropped_out: int | None = None
    start_roll: int | None = None
    year_dropouts: int | None = None
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
    school_year: str | None = None
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
    dropped_out: int   # the school year's dropouts (each child once)
    start_roll: int


class Circular(BaseModel):
    org_code: str
    org_name: str
    date: date
    school_year: str
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
