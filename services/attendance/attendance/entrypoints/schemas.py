from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from shared.types import ORG_CODE_PATTERN, SchoolDay, SchoolInstant, UtcDatetime
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.text import FreeText, LineText

MAX_LEAVE = timedelta(days=366)

Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=ORG_CODE_PATTERN)]
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
    date: SchoolDay
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
    start: SchoolInstant
    end: SchoolInstant
    reason: FreeText(500, min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> "LeaveIn":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_LEAVE:
            raise ValueError(f"leave spans at most a school year ({MAX_LEAVE.days} days); file another after it")
        return self


class LeaveOut(BaseModel):
    id: str
    student_id: str
    start: datetime
    end: datetime
    reason: str
    status: Literal["requested", "approved", "rejected"]
    requested_by: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


class LeaveDecisionIn(BaseModel):
    note: FreeText(500) | None = None


class TermIn(BaseModel):
    name: LineText(64, min_length=1)
    start: SchoolDay
    end: SchoolDay

    @model_validator(mode="after")
    def _ordered(self) -> "TermIn":
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


SessionTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class SessionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    am: SessionTime | None = None
    pm: SessionTime | None = None


class CalendarIn(BaseModel):
    """One org's calendar layer: a county code sets the default for its schools, a school code
    overrides it. Only the fields sent are stored (PUT replaces the layer); what is not sent is
    inherited from the county, else from the service's settings."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "terms": [{"name": "2026 autumn", "start": "2026-09-01", "end": "2027-01-22"}],
        "holidays": ["2026-10-01", "2026-10-02"], "make_up_days": ["2026-09-27"],
        "sessions": {"am": "07:50", "pm": "14:10"}}]})
    term_start: SchoolDay | None = None
    term_end: SchoolDay | None = None
    terms: list[TermIn] | None = Field(default=None, max_length=12)
    holidays: list[SchoolDay] = Field(default_factory=list, max_length=400)
    make_up_days: list[SchoolDay] = Field(default_factory=list, max_length=100)
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default=[1, 2, 3, 4, 5], description="ISO weekdays that are school days")
    sessions: SessionsIn | None = Field(default=None, description="session start times, local HH:MM")

    @model_validator(mode="after")
    def _consistent(self) -> "CalendarIn":
        if self.term_start and self.term_end and self.term_end < self.term_start:
            raise ValueError("term_end must not be before term_start")
        if both := set(self.holidays) & set(self.make_up_days):
            raise ValueError(f"{min(both).isoformat()} is both a holiday and a make-up day")
        return self


class CalendarEntryIn(BaseModel):
    date: SchoolDay
    kind: Literal["holiday", "school_day", "make_up_day"] = Field(
        description="make_up_day (调休) is a school_day on a weekend")
    note: LineText(200) | None = None


class CalendarEntriesIn(BaseModel):
    """Dated entries to merge into an org's calendar layer (JSON, or CSV `date,kind[,note]`)."""
    entries: list[CalendarEntryIn] = Field(min_length=1, max_length=1000)


class AbsenceOut(BaseModel):
    student_id: str
    since: datetime | None
    hours: float
    absent_sessions: int
    threshold_hours: float
    threshold_reached: bool = Field(description="a roll call showed the child still away at or after due_at")
    counting: str
    episode_id: str | None = None
    last_absent_at: datetime | None = None
    due_at: datetime | None = Field(default=None, description="when the counted hours reach the threshold")
    observed_at: datetime | None = Field(
        default=None, description="the first session at or after due_at whose mark shows the child still away")
    threshold_fired_at: datetime | None = None


class TermOut(BaseModel):
    name: str
    start: date
    end: date


class AttendanceOut(BaseModel):
    student_id: str
    term: TermOut
    sessions: int
    missed: int
    rate: float = Field(description="missed / sessions")
    threshold: float
    flagged: bool
    flagged_at: datetime | None


class MarkOut(BaseModel):
    student_id: str
    status: str


class RollCallSummary(BaseModel):
    id: int
    date: date
    session: str
    session_at: datetime
    received_at: datetime
    counts: dict[str, int]
    marks: list[MarkOut]


class DailyRate(BaseModel):
    date: date
    roll_calls: int
    marks: int
    present: int
    late: int
    absent: int
    leave: int
    rate: float | None = Field(description="(present + late) / marks; null without marks")
