from __future__ import annotations

from datetime import date, datetime
from typing import Literal

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
