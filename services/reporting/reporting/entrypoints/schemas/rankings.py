"""Bodies of the rankings and the circular (通报)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from reporting.entrypoints.schemas.common import TargetStatus


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
