from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class LevelFigures(BaseModel):
    enrolled: int
    dropped_out: int
    dropout_rate: float | None
    retention_rate: float | None
    open_cases: int


class Summary(BaseModel):
    org_code: str
    org_name: str
    org_kind: str
    enrolled: int
    dropped_out: int
    dropout_rate: float | None
    retention_rate: float | None
    open_cases: int
    levels: dict[str, LevelFigures]
    as_of: datetime | None
