"""Home teaching, targeted assistance and the 无因贫辍学 report."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cases.domain.lifecycle import CaseStatus
from shared.text import OrgName
from shared.types import Day, SchoolDay


class LessonPlanOut(BaseModel):
    id: str
    filename: str
    media_type: str
    sha256: str
    size: int


class HomeTeachingOut(BaseModel):
    id: str
    student_id: str
    taught_on: date
    hours: float
    teachers: list[str]
    content: str
    recorded_by: str
    recorded_at: datetime
    lesson_plan: LessonPlanOut


class HomeTeachingCount(BaseModel):
    county_code: str | None
    children: int
    teachers: int
    sessions: int
    hours: float
    summary: str


class HomeTeachingCounts(BaseModel):
    org_code: str
    since: date
    until: date
    counties: list[HomeTeachingCount]


class AssistanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "boarding_subsidy", "amount": "625.00", "period_start": "2026-09-01", "period_end": "2027-01-31",
        "source": "家庭经济困难寄宿生生活补助"}]})
    kind: Literal["boarding_subsidy", "county_grant", "charity_grant", "other"] = Field(
        description="living subsidy for a boarder from a poor family, a county or charity grant, other (not 两免)")
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2, description="yuan")
    period_start: SchoolDay
    period_end: Day
    source: OrgName

    @model_validator(mode="after")
    def _period(self) -> AssistanceIn:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class AssistanceOut(BaseModel):
    # Not the input model: a stored value always reads, whatever the input checks become.
    model_config = ConfigDict(extra="ignore")
    kind: str
    amount: Decimal
    period_start: date
    period_end: date
    source: str
    id: str
    student_id: str
    recorded_by: str
    recorded_at: datetime


class PoorChild(BaseModel):
    student_id: str
    name: str
    school_code: str
    class_id: str | None
    aided: bool
    amount: float


class PoorHouseholdDropout(BaseModel):
    case_id: str
    student_id: str
    name: str | None
    school_code: str
    status: CaseStatus
    confirmed_at: datetime


class PovertyReport(BaseModel):
    org_code: str
    org_path: list[str]
    on: date
    poor_on_roll: int
    with_aid: int
    without_aid: int
    children: list[PoorChild]
    poor_household_dropouts: list[PoorHouseholdDropout] = Field(
        description="confirmed dropouts from registered-poor households, whatever the cause")
    poverty_dropouts: list[PoorHouseholdDropout] = Field(
        description="confirmed dropouts whose causes include poverty (因贫辍学)")
    no_poverty_dropout: bool = Field(description="true when no confirmed dropout names poverty as a cause")
