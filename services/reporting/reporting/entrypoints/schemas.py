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


class Summary(Figures):
    org_code: str
    org_name: str
    org_kind: str
    date: date
    levels: dict[str, Figures]
    targets: Targets
    as_of: datetime | None
