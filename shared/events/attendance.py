"""baoxue.attendance.v1: absence episodes and roll-call completeness, produced by attendance."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from shared.events.base import TOPIC_ATTENDANCE, EventModel, Placed, Uuid


class AbsenceThresholdReached(EventModel):
    """An unexcused absence passed the threshold (48 hours); once per episode"""

    TOPIC: ClassVar[str] = TOPIC_ATTENDANCE
    TYPE: ClassVar[str] = "baoxue.attendance.absence.threshold_reached"

    student_id: Uuid
    episode_id: Uuid | None = None  # absent from early events: consumers read it with a fallback
    episode_started_at: dt.datetime | None = None
    last_absent_at: dt.datetime
    absent_sessions: int
    hours: float
    threshold_hours: float
    counting: str
    due_at: dt.datetime | None = None  # added after the first version
    observed_at: dt.datetime | None = None  # added after the first version
    detected_late: bool | None = None  # added after the first version
    ended_at: dt.datetime | None = None  # added after the first version
    end_reason: str | None = None  # added after the first version
    # PlacedInChain's fields, but grade has a default here (events without it still read).
    school_code: str
    class_id: Uuid
    grade: int | None = None
    org_path: list[str]
    org_chain: list[dict[str, Any]]


class StudentReturned(EventModel):
    """An episode that fired threshold_reached ended; once per episode and reason"""

    TOPIC: ClassVar[str] = TOPIC_ATTENDANCE
    TYPE: ClassVar[str] = "baoxue.attendance.student.returned"

    student_id: Uuid
    episode_id: Uuid
    episode_started_at: dt.datetime
    returned_at: dt.datetime | None = None  # absent from early events: consumers read it with a fallback
    reason: str | None = None  # added after the first version


class ChronicAbsenceFlagged(Placed):
    """A student missed at least the threshold share of the term's sessions; once per student per term"""

    TOPIC: ClassVar[str] = TOPIC_ATTENDANCE
    TYPE: ClassVar[str] = "baoxue.attendance.chronic_absence.flagged"

    student_id: Uuid
    term: str
    term_start: dt.date
    term_end: dt.date
    sessions: int
    missed: int
    rate: float
    threshold: float


class RollCallRecorded(EventModel):
    """A roll call was stored (every one, a re-post too); reporting counts completeness from it"""

    TOPIC: ClassVar[str] = TOPIC_ATTENDANCE
    TYPE: ClassVar[str] = "baoxue.attendance.roll_call.recorded"

    class_id: str
    school_code: str
    org_path: list[str] | None = None  # added after the first version
    date: dt.date
    session: str
    session_at: dt.datetime
    roll_call_id: int
    received_at: dt.datetime
    on_time: bool = False  # absent from early events: consumers read it with a fallback
    replaced: bool
    expected: bool = False
    counts: dict[str, Any] = {}
    marks: int = 0


class RollCallMissing(EventModel):
    """An expected class-session has no roll call by its due time; once per class-session"""

    TOPIC: ClassVar[str] = TOPIC_ATTENDANCE
    TYPE: ClassVar[str] = "baoxue.attendance.roll_call.missing"

    class_id: str
    school_code: str
    org_path: list[str]
    date: dt.date
    session: str
    session_at: dt.datetime
    missing_since: dt.datetime


class RollCallFilledLate(EventModel):
    """A class-session announced missing got its roll call; once per class-session"""

    TOPIC: ClassVar[str] = TOPIC_ATTENDANCE
    TYPE: ClassVar[str] = "baoxue.attendance.roll_call.filled_late"

    class_id: str
    school_code: str
    org_path: list[str]
    date: dt.date
    session: str
    session_at: dt.datetime
    missing_since: dt.datetime
    filled_at: dt.datetime


class RollCallMissingEscalated(EventModel):
    """A class missed every session of N consecutive school days; once per run, to the township"""

    TOPIC: ClassVar[str] = TOPIC_ATTENDANCE
    TYPE: ClassVar[str] = "baoxue.attendance.roll_call.missing_escalated"

    class_id: str
    school_code: str
    org_path: list[str]
    township_code: str | None
    run_start: dt.date
    days: int
