"""Bodies of the roll-call completeness report."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
