"""The case lifecycle as one explicit transition table, and what each move requires. Pure.

    reported → verifying → confirmed → persuading → returned | home_teaching | transferred | judicial_notice
                        ↘ false_alarm                                  judicial_notice → returned | home_teaching | transferred
    any outcome or false_alarm → closed (销号, with evidence);  closed → reported (reopened within the term)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping


class CaseStatus(str, enum.Enum):
    reported = "reported"              # opened; the dual reports are out
    verifying = "verifying"            # the school and township check what happened
    confirmed = "confirmed"            # a confirmed dropout (辍学)
    false_alarm = "false_alarm"        # sick, on leave, data error, transferred
    persuading = "persuading"          # 劝返: a responsible person and a plan
    returned = "returned"              # 复学
    home_teaching = "home_teaching"    # 送教上门
    transferred = "transferred"        # with the receiving school's receipt (回执)
    judicial_notice = "judicial_notice"  # 劝返复学 legal notice after failed persuasion
    closed = "closed"                  # 销号


S = CaseStatus
OUTCOMES = frozenset({S.returned, S.home_teaching, S.transferred, S.judicial_notice})

TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.reported: frozenset({S.verifying}),
    S.verifying: frozenset({S.confirmed, S.false_alarm}),
    S.confirmed: frozenset({S.persuading}),
    S.false_alarm: frozenset({S.closed}),
    S.persuading: OUTCOMES,
    # A legal notice is not the end: the child may still come back, be taught at home or move.
    S.judicial_notice: frozenset({S.returned, S.home_teaching, S.transferred, S.closed}),
    S.returned: frozenset({S.closed}),
    S.home_teaching: frozenset({S.closed}),
    S.transferred: frozenset({S.closed}),
    S.closed: frozenset({S.reported}),  # reopened: the child dropped out again within the term
}

# The column that records when a case last entered each state ("reported" is opened_at).
TIMESTAMP_COLUMN: dict[CaseStatus, str] = {s: f"{s.value}_at" for s in CaseStatus}
TIMESTAMP_COLUMN[S.reported] = "reopened_at"  # entering reported again can only be a reopen


class FalseAlarmReason(str, enum.Enum):
    sick = "sick"
    on_leave = "on_leave"
    data_error = "data_error"
    transferred = "transferred"


class IllegalTransition(Exception):
    def __init__(self, current: CaseStatus, target: CaseStatus, why: str | None = None) -> None:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
        super().__init__(why or f"a {current.value} case cannot move to {target.value} (allowed: {allowed})")
        self.current, self.target = current, target


class MissingData(Exception):
    """The move is legal but the case lacks what it needs; ``errors`` name the fields."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class CaseFacts:
    """What the requirements are checked against: the case as stored plus the request."""

    status: CaseStatus
    responsible_person: Any = None
    plan_items: int = 0
    reason: str | None = None
    evidence: Mapping[str, Any] | None = None
    closed_at: datetime | None = None


def is_legal(current: CaseStatus, target: CaseStatus) -> bool:
    return target in TRANSITIONS[current]


def _missing(field_name: str, message: str) -> dict[str, str]:
    return {"field": field_name, "pointer": "/" + field_name.replace(".", "/"), "message": message}


def check(facts: CaseFacts, target: CaseStatus, *, now: datetime, reopen_window: timedelta) -> None:
    """Raise IllegalTransition (→ 409) or MissingData (→ 422); return None when the move may happen."""
    if not is_legal(facts.status, target):
        raise IllegalTransition(facts.status, target)
    errors: list[dict[str, str]] = []
    if target is S.false_alarm and facts.reason not in {r.value for r in FalseAlarmReason}:
        errors.append(_missing("reason", "a false alarm needs a reason: " + ", ".join(r.value for r in FalseAlarmReason)))
    if target is S.persuading:
        if not facts.responsible_person:
            errors.append(_missing("responsible_person", "assign the person responsible for persuasion first "
                                                         "(PUT /v1/cases/{id}/responsibility)"))
        if facts.plan_items == 0:
            errors.append(_missing("plan", "record at least one plan item first (POST /v1/cases/{id}/plan-items)"))
    if target is S.transferred and not (facts.evidence or {}).get("receipt"):
        errors.append(_missing("evidence.receipt", "a transfer needs the receiving school's receipt (回执)"))
    if target is S.closed:
        evidence = facts.evidence or {}
        if not evidence:
            errors.append(_missing("evidence", "close-out (销号) needs the outcome's evidence"))
        elif facts.status is S.returned and not evidence.get("returned_on"):
            errors.append(_missing("evidence.returned_on", "the confirmed date the child returned to school"))
    if target is S.reported and (facts.closed_at is None or now - facts.closed_at > reopen_window):
        raise IllegalTransition(facts.status, target, "only a case closed within the term may be reopened; "
                                                      "a later dropout opens a new case")
    if errors:
        raise MissingData(errors)
