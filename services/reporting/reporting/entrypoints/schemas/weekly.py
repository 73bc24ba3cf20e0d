"""Bodies of the weekly report and the county standings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from reporting.entrypoints.schemas.common import TargetStatus
from reporting.entrypoints.schemas.summary import Figures, Indicators, SchoolYearInfo


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
