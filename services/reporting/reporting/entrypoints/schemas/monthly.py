"""Bodies of the school monthly dropout report (学校辍学月报表)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


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
