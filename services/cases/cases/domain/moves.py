"""A case move, decided without I/O: given the case as it stands and the requested move, which
columns change, the outcome, whether the evidence is reset (a reopen), the timeline entry, the
event (``case.closed`` or ``case.status_changed``) and what the decision does to the dual
reports. The use case (``cases.usecases.moves``) loads the state, calls ``decide_move`` and
persists exactly what it returns; the rules of what may move where are ``cases.domain.lifecycle``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cases.domain.lifecycle import OUTCOMES, TIMESTAMP_COLUMN, CaseFacts, CaseStatus, check
from cases.domain.model import reports_on_decision
from shared.events.cases import CaseClosed, CaseStatusChanged


@dataclass(frozen=True)
class CaseState:
    """What a move is decided on: the case as stored (and its plan's size)."""

    id: str
    child_id: str  # the student id, or the person id of a suspected out-of-school child
    status: CaseStatus
    origin: str
    opened_at: datetime
    evidence: Mapping[str, Any] | None = None
    outcome: str | None = None
    responsible_person: Any = None
    plan_items: int = 0
    closed_at: datetime | None = None
    false_alarm_reason: str | None = None
    reopen_count: int = 0
    reports_issued: bool = False
    # When the absence that opened the case began (its opening entry), if it was one.
    episode_started_at: Any = None


@dataclass(frozen=True)
class MoveRequest:
    """A requested move: where to, by whom, and its inputs."""

    to: CaseStatus
    actor: str
    reason: str | None = None
    evidence: Mapping[str, Any] | None = None
    note: str | None = None
    causes: tuple[str, ...] = ()
    cause_note: str | None = None


@dataclass(frozen=True)
class Move:
    """What a checked move does; ``values`` are exactly the columns to write."""

    previous: CaseStatus
    to: CaseStatus
    values: dict[str, Any]
    reopened: bool
    timeline_kind: str
    timeline_detail: dict[str, Any]
    event: CaseClosed | CaseStatusChanged  # the event to emit, as it goes on the wire
    reports: str | None = None  # issue, withdraw or none (``reports_on_decision``); None: untouched


def decide_move(state: CaseState, request: MoveRequest, *, now: datetime,
                reopen_window: timedelta = timedelta(0), verify_deadline: timedelta | None = None) -> Move:
    """Check the move (``IllegalTransition`` → 409, ``MissingData`` → 422) and decide what it writes.

    The evidence given is merged into the stored one; a reopen starts a new round (outcome,
    evidence, causes and the known return reset; the last close-out stays on the timeline), and
    a case never reported gets a new verification deadline when ``verify_deadline`` is given."""
    current, to = state.status, request.to
    evidence = dict(request.evidence) if request.evidence else None
    causes = list(request.causes)
    merged = {**(state.evidence or {}), **(evidence or {})}
    check(CaseFacts(status=current, responsible_person=state.responsible_person, plan_items=state.plan_items,
                    reason=request.reason, evidence=merged, closed_at=state.closed_at, causes=request.causes,
                    false_alarm_reason=state.false_alarm_reason),
          to, now=now, reopen_window=reopen_window)
    values: dict[str, Any] = {"status": to.value, "updated_at": now, TIMESTAMP_COLUMN[to]: now}
    if to is CaseStatus.confirmed:
        values.update(causes=causes, cause_note=request.cause_note)
    if evidence:
        values["evidence"] = merged
    if to is CaseStatus.false_alarm:
        values["false_alarm_reason"] = request.reason
    if to in OUTCOMES or to is CaseStatus.false_alarm:
        values["outcome"] = to.value
    if to is CaseStatus.closed:
        values["closed_at"] = now
    reopened = current is CaseStatus.closed
    if reopened:  # a new round: the last close-out's outcome and evidence stay on the timeline
        values.update(outcome=None, evidence=None, false_alarm_reason=None, reopen_count=state.reopen_count + 1,
                      causes=None, cause_note=None, back_at=None)
        if not state.reports_issued and verify_deadline is not None:
            values["verify_due_at"] = now + verify_deadline  # never reported: checked again by a deadline
    detail: dict[str, Any] = {"from": current.value, "to": to.value, "reason": request.reason, "evidence": evidence}
    if to is CaseStatus.confirmed:
        detail.update(causes=causes, cause_note=request.cause_note)
    event: CaseClosed | CaseStatusChanged
    if to is CaseStatus.closed:
        event = CaseClosed(case_id=state.id, student_id=state.child_id, status=to.value, previous_status=current.value,
                           outcome=state.outcome, evidence=values.get("evidence", state.evidence), at=now,
                           actor=request.actor)
    else:
        confirmed = to is CaseStatus.confirmed
        event = CaseStatusChanged(
            case_id=state.id, student_id=state.child_id, status=to.value, previous_status=current.value, at=now,
            actor=request.actor, causes=causes if confirmed else None,
            cause_note=request.cause_note if confirmed else None, origin=state.origin,
            dropped_out_since=(state.episode_started_at or state.opened_at) if confirmed else None)
    return Move(previous=current, to=to, values=values, reopened=reopened,
                timeline_kind="reopened" if reopened else "status_changed", timeline_detail=detail, event=event,
                reports=reports_on_decision(to, reports_issued=state.reports_issued))
