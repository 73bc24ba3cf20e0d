from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from shared.types import UtcDatetime
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=36)]


class MarkIn(BaseModel):
    student_id: Id
    status: Literal["present", "absent", "late", "leave"]


class RollCallIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "school_code": "41012201001", "class_id": "…", "date": "2026-11-23", "session": "am",
        "marks": [{"student_id": "…", "status": "absent"}]}]})
    school_code: Code
    class_id: Id
    date: date
    session: Literal["am", "pm"]
    marks: list[MarkIn] = Field(min_length=1, max_length=200)
    recorded_at: UtcDatetime | None = Field(default=None, description="the device's clock; recorded, not trusted")

    @model_validator(mode="after")
    def _one_mark_per_student(self) -> "RollCallIn":
        seen: set[str] = set()
        for m in self.marks:
            if m.student_id in seen:
                raise ValueError(f"student {m.student_id} is marked twice")
            seen.add(m.student_id)
        return self


class RollCallOut(BaseModel):
    school_code: str
    class_id: str
    date: date
    session: str
    marks: int
    replaced: bool


class LeaveIn(BaseModel):
    student_id: Id
    start: UtcDatetime
    end: UtcDatetime
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _ordered(self) -> "LeaveIn":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class LeaveOut(BaseModel):
    id: str
    student_id: str
    start: datetime
    end: datetime
    reason: str
    status: str


class CalendarIn(BaseModel):
    """Term dates, extra holidays and make-up working days (调休). Stored now; the school-hours
    clock that reads it arrives with issue 4."""

    term_start: date | None = None
    term_end: date | None = None
    holidays: list[date] = Field(default_factory=list, max_length=400)
    make_up_days: list[date] = Field(default_factory=list, max_length=100)
    weekdays: list[int] = Field(default=[1, 2, 3, 4, 5], description="ISO weekdays that are school days")


class AbsenceOut(BaseModel):
    student_id: str
    since: datetime | None
    hours: float
    absent_sessions: int
    threshold_hours: float
    threshold_reached: bool
    counting: str
