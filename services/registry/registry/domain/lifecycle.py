"""The student record's status lifecycle (学籍异动) as an explicit transition table, with no I/O.

A transfer is two steps with its own routes: the sending school moves the record to
``transferred_out`` (pending receipt, 回执), and the receiving school's confirmation moves it
to ``transferred_in`` at the new school. Every other change goes through ``change_status``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from registry.domain.model import StudentStatus as S
from registry.domain.off_roll import Terms
from shared import statuses
from shared.errors import Conflict, Invalid

# From each status, the statuses a direct status change may lead to. Graduated and deceased
# records are history: nothing leaves them (a graduate who comes back is a new enrolment).
TRANSITIONS: dict[S, frozenset[S]] = {
    S.enrolled: frozenset({S.suspended, S.boarding_elsewhere, S.dropped_out, S.home_teaching,
                           S.unable_to_study, S.graduated, S.deceased}),
    S.transferred_in: frozenset({S.suspended, S.boarding_elsewhere, S.dropped_out, S.home_teaching,
                                 S.unable_to_study, S.graduated, S.deceased}),
    # Back from suspension (复学), or it turns into something else.
    S.suspended: frozenset({S.enrolled, S.dropped_out, S.home_teaching, S.unable_to_study, S.deceased}),
    S.boarding_elsewhere: frozenset({S.enrolled, S.dropped_out, S.graduated, S.deceased}),
    # A dropout persuaded back (劝返复学), or taught at home, or found unable to study.
    S.dropped_out: frozenset({S.enrolled, S.home_teaching, S.unable_to_study, S.deceased}),
    S.home_teaching: frozenset({S.enrolled, S.unable_to_study, S.graduated, S.deceased}),
    S.unable_to_study: frozenset({S.enrolled, S.home_teaching, S.deceased}),
    # A pending transfer ends by receipt (confirm) or cancellation, both through the transfer
    # routes; a child who never arrives anywhere is a dropout, and that the sending school records.
    S.transferred_out: frozenset({S.dropped_out, S.deceased}),
    S.graduated: frozenset(),
    S.deceased: frozenset(),
}

# Statuses a change must explain: officials ask "why" of exactly these.
REASON_REQUIRED = frozenset({S.suspended, S.dropped_out, S.unable_to_study, S.home_teaching, S.deceased})

# Attending statuses: the child is expected at roll call.
ATTENDING = frozenset(S(status) for status in statuses.ATTENDING)  # as the statuses the events carry

# Entered only through the transfer routes.
TRANSFER_STATUSES = frozenset({S.transferred_out, S.transferred_in})


class Side(str, enum.Enum):
    """The two schools of a transfer. Either may start it (the national system has the
    receiving school ask and the sending school confirm); the other one confirms it, and the
    one that started it may withdraw it while it is pending."""
    sender = "sender"
    receiver = "receiver"

    @property
    def other(self) -> Side:
        return Side.receiver if self is Side.sender else Side.sender


def confirming_side(started_by: Side) -> Side:
    return started_by.other


def cancelling_side(started_by: Side) -> Side:
    return started_by


@dataclass(frozen=True)
class StatusChangeRequest:
    """A status change as a school files it; boarding elsewhere and suspension say their terms."""

    status: S
    effective_on: date | None = None  # today when not given
    reason: str | None = None
    terms: Terms = Terms()


@dataclass(frozen=True)
class StatusChange:
    previous: S
    status: S
    effective_on: date
    reason: str | None


def can_change(current: S, target: S) -> bool:
    return target in TRANSITIONS[current]


def change_status(current: S, target: S, *, effective_on: date, reason: str | None, today: date,
                  last_effective_on: date | None) -> StatusChange:
    """Check one status change; raises a 409 for an illegal pair, 422 for missing facts."""
    if target in TRANSFER_STATUSES:
        raise Conflict(f"{target.value} is set by the transfer routes, not a status change",
                       hint="POST /v1/students/{id}/transfers, then the receiving school confirms it")
    if not can_change(current, target):
        allowed = sorted(s.value for s in TRANSITIONS[current])
        raise Conflict(f"a student who is {current.value} cannot become {target.value}",
                       current=current.value, allowed=allowed)
    _check_effective_on(effective_on, today=today, last_effective_on=last_effective_on)
    if target in REASON_REQUIRED and not (reason and reason.strip()):
        raise Invalid(f"a change to {target.value} needs a reason",
                      errors=[{"field": "reason", "pointer": "/reason", "message": "required for " + target.value}])
    return StatusChange(previous=current, status=target, effective_on=effective_on, reason=reason)


def check_transfer_out(current: S, *, effective_on: date, today: date, last_effective_on: date | None) -> None:
    if current not in ATTENDING | {S.suspended, S.boarding_elsewhere}:
        raise Conflict(f"a student who is {current.value} cannot be transferred out", current=current.value)
    _check_effective_on(effective_on, today=today, last_effective_on=last_effective_on)


def _check_effective_on(effective_on: date, *, today: date, last_effective_on: date | None) -> None:
    # Paperwork is often filed late, so past dates are fine; a future one is a typo.
    if effective_on > today:
        raise Invalid(f"effective_on {effective_on.isoformat()} is in the future (today is {today.isoformat()})",
                      errors=[{"field": "effective_on", "pointer": "/effective_on", "message": "in the future"}])
    if last_effective_on is not None and effective_on < last_effective_on:
        raise Invalid(f"effective_on {effective_on.isoformat()} is before the record's last change "
                      f"({last_effective_on.isoformat()})",
                      errors=[{"field": "effective_on", "pointer": "/effective_on",
                               "message": f"before {last_effective_on.isoformat()}"}])
