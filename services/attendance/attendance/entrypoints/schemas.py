from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from shared.errors import ProblemDetails
from shared.text import FreeText, LineText
from shared.types import ORG_CODE_PATTERN, SchoolDay, SchoolInstant, UtcDatetime

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
    def _one_mark_per_student(self) -> RollCallIn:
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
    requested_via: Literal["guardian_phone", "in_person", "note"] | None = Field(
        None, description="How the request reached the school (a guardian's call, in person, a written note); "
                          "`requested_by` is always the caller who recorded it")

    @model_validator(mode="after")
    def _ordered(self) -> LeaveIn:
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
    requested_via: Literal["guardian_phone", "in_person", "note"] | None = None
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
    def _ordered(self) -> TermIn:
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
    roll_calls_from: date | None = Field(
        default=None, description="roll calls are expected from this date; default the school's first roster day")
    sync_interval_days: int | None = Field(
        default=None, ge=0, le=31,
        description="a teaching point that syncs its roll calls every N days: sessions are missing N days later")

    @model_validator(mode="after")
    def _consistent(self) -> CalendarIn:
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
    unrecorded_sessions: int = Field(
        default=0, description="expected sessions since the episode began with no roll call for the child's class")


class MissingRollCall(BaseModel):
    kind: Literal["missing", "unmarked"] = Field(
        description="missing: no roll call for the session; unmarked: a roll call left off pupils on the roll")
    class_id: str
    school_code: str
    date: date
    session: Literal["am", "pm"]
    session_at: datetime
    missing_since: datetime | None = Field(
        description="when the session became missing (due time plus sync interval); null for unmarked")
    filled_late: bool
    filled_at: datetime | None = None
    unmarked: list[str] = Field(default_factory=list, description="pupils on the roll left off the roll call")


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
    revisions: list[RevisionOut] = Field(default_factory=list, description=(
        "every send of this class-session, oldest first; the last received is the roll call"))


class DailyRate(BaseModel):
    date: date
    roll_calls: int
    marks: int
    present: int
    late: int
    absent: int
    leave: int
    rate: float | None = Field(description="(present + late) / marks; null without marks")


# --- offline batches -------------------------------------------------------------------------

class BatchRollCallIn(RollCallIn):
    """One roll call of a batch: the tablet's own id for this send, and its clock in `recorded_at`
    (shown, never used for a deadline)."""

    client_id: uuid.UUID = Field(description="generated by the device for this send; the same id with the same "
                                             "roll call again is `unchanged`")


@dataclass(frozen=True)
class RejectedItem:
    """A batch item that is not a roll call: pydantic's errors, kept so the other items still go in."""

    errors: list[dict[str, Any]]
    client_id: str | None = None


def _keep_errors(value: Any, _handler: ValidatorFunctionWrapHandler) -> BatchRollCallIn | RejectedItem:
    # Validated as the item type itself, not through the union: the error paths stay plain.
    try:
        return BatchRollCallIn.model_validate(value)
    except ValidationError as exc:
        sent = value.get("client_id") if isinstance(value, dict) else None
        # Echoed back in the item's result: a lone surrogate would make the answer unwritable.
        shown = sent.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(sent, str) else None
        return RejectedItem(exc.errors(include_url=False), shown)


BatchItem = Annotated[BatchRollCallIn | RejectedItem,
                      WrapValidator(_keep_errors, json_schema_input_type=BatchRollCallIn)]


class RollCallBatchIn(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    roll_calls: list[BatchItem] = Field(min_length=1, description=(
        "up to BAOXUE_ROLL_CALL_BATCH_MAX (400) roll calls, taken offline, in the order they were taken"))


class BatchRollCallRef(BaseModel):
    class_id: str
    date: date
    session: str
    marks: int


class BatchResult(BaseModel):
    index: int
    client_id: str | None = None
    result: Literal["created", "unchanged", "replaced", "rejected"]
    roll_call: BatchRollCallRef | None = Field(None, description="what is stored (not for `rejected`)")
    problem: ProblemDetails | None = Field(None, description="why the item was rejected: 422 with `errors[]` "
                                                             "pointing into the batch, or 404 for a class outside scope")


class RollCallBatchOut(BaseModel):
    results: list[BatchResult]


class RevisionOut(BaseModel):
    client_id: str | None
    sender: str | None = Field(description="the token subject that sent it (null for sends before senders were kept)")
    device_recorded_at: datetime | None = Field(description="the device's clock, as sent; never trusted")
    received_at: datetime
    result: Literal["created", "replaced"]
    marks: list[MarkOut]
