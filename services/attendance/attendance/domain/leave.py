"""Leave (请假): requested, then approved or rejected once. Only approved leave excuses absences."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta


class RequestedVia(str, enum.Enum):
    """How the request reached the school: a guardian's call, in person, a written note. Who
    recorded it is ``requested_by``, the caller."""

    guardian_phone = "guardian_phone"
    in_person = "in_person"
    note = "note"


@dataclass(frozen=True)
class LeaveRequest:
    """A leave request as filed: the child, the instants it covers, why, and how it reached the school."""

    student_id: str
    start: datetime
    end: datetime
    reason: str
    requested_via: str | None = None  # a RequestedVia value


@dataclass(frozen=True)
class LeaveDays:
    """A leave as the local dates it touches, first and last included."""

    first: date
    last: date


def _school_days(first: date, last: date, is_school_day: Callable[[date], bool]) -> int:
    return sum(1 for n in range((last - first).days + 1) if is_school_day(first + timedelta(days=n)))


def chained_school_days(leave: LeaveDays, approved: Iterable[LeaveDays], is_school_day: Callable[[date], bool]) -> int:
    """The school days of ``leave`` together with the approved leaves consecutive with it: two
    leaves are consecutive when no school day lies between them (Friday's and Monday's leave are
    one absence of two days). A school day touched by a leave counts in full: a half-day leave is
    a day of the head teacher's allowance."""
    first, last = leave.first, leave.last
    pending = sorted(approved, key=lambda d: d.first)
    grown = True
    while grown:  # a chain can grow on both sides, and one link may join two others
        grown = False
        for other in list(pending):
            before = other.last < first and _school_days(other.last + timedelta(days=1), first - timedelta(days=1),
                                                         is_school_day) == 0
            after = other.first > last and _school_days(last + timedelta(days=1), other.first - timedelta(days=1),
                                                        is_school_day) == 0
            overlaps = other.first <= last and other.last >= first
            if before or after or overlaps:
                first, last = min(first, other.first), max(last, other.last)
                pending.remove(other)
                grown = True
    return _school_days(first, last, is_school_day)


class LeaveStatus(str, enum.Enum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"


# (from, to) pairs a decision may make; a decided leave is final (a new request replaces it).
TRANSITIONS: frozenset[tuple[LeaveStatus, LeaveStatus]] = frozenset({
    (LeaveStatus.requested, LeaveStatus.approved),
    (LeaveStatus.requested, LeaveStatus.rejected),
})


class IllegalTransition(Exception):
    def __init__(self, current: LeaveStatus, target: LeaveStatus) -> None:
        super().__init__(f"a leave that is {current.value} cannot become {target.value}")
        self.current, self.target = current, target


def decide(current: LeaveStatus, target: LeaveStatus) -> LeaveStatus:
    if (current, target) not in TRANSITIONS:
        raise IllegalTransition(current, target)
    return target
