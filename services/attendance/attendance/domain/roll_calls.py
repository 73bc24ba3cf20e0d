"""A roll call as the use case receives it: one class-session's marks, whoever sent them."""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt


@dataclass(frozen=True)
class RollCallMark:
    student_id: str
    status: str  # present, late, absent or leave


@dataclass(frozen=True)
class RollCall:
    school_code: str
    class_id: str
    date: dt.date
    session: str  # am or pm
    marks: tuple[RollCallMark, ...]
    recorded_at: dt.datetime | None = None  # the device's clock: recorded, never trusted
