"""Leave (请假): requested, then approved or rejected once. Only approved leave excuses absences."""

from __future__ import annotations

import enum


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
