"""The case lifecycle as one explicit transition table, and what each move requires. Pure.

    reported → verifying → confirmed → persuading → returned | home_teaching | transferred | unable_to_study
       ↘ (confirmed | false_alarm) ↘ false_alarm                     ↘ judicial_notice → returned | home_teaching |
                                                                                  transferred | unable_to_study
    returned | home_teaching | transferred | unable_to_study | false_alarm → closed (销号, naming its evidence)
    closed → reported (reopened within the term)

The seeds' rule (000): 对48小时未到校又未履行请假手续的学生，迅速查明原因，一经确定是辍学情况，立即向当地政府和
教育部门报告. A case opens at once and is checked first (``reported`` means the alarm was raised,
not that the dual reports are out); the reports go out on confirmation, or at the verification
deadline (``cases.domain.model.deadline_reports_due``). A legal notice is not a resolution: the
child must still come back, be taught at home, move with a receipt or be certified unable to study.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


class CaseStatus(str, enum.Enum):
    reported = "reported"              # opened (the alarm is raised); to be checked by the deadline
    verifying = "verifying"            # the school and township check what happened
    confirmed = "confirmed"            # a confirmed dropout (辍学)
    false_alarm = "false_alarm"        # sick, on leave, data error, transferred, returned
    persuading = "persuading"          # 劝返: a responsible person and a plan
    returned = "returned"              # 复学
    home_teaching = "home_teaching"    # 送教上门
    transferred = "transferred"        # with the receiving school's receipt (回执)
    unable_to_study = "unable_to_study"  # certified unable to study (不具备学习条件)
    judicial_notice = "judicial_notice"  # 劝返复学 legal notice after failed persuasion
    closed = "closed"                  # 销号


S = CaseStatus
# The states a case may be closed out (销号) from: the child's schooling is settled.
RESOLUTIONS = frozenset({S.returned, S.home_teaching, S.transferred, S.unable_to_study})
OUTCOMES = RESOLUTIONS | {S.judicial_notice}
# Not checked yet: the dual reports wait for the decision, or for the verification deadline.
UNCHECKED = frozenset({S.reported, S.verifying})

TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    # A school that already knows (the parent phoned) decides at once, without a separate check.
    S.reported: frozenset({S.verifying, S.confirmed, S.false_alarm}),
    S.verifying: frozenset({S.confirmed, S.false_alarm}),
    S.confirmed: frozenset({S.persuading}),
    S.false_alarm: frozenset({S.closed}),
    S.persuading: OUTCOMES,
    # A legal notice is not the end, and not a close-out: the child must still come back, be
    # taught at home, move with a receipt, or be certified unable to study.
    S.judicial_notice: RESOLUTIONS,
    S.returned: frozenset({S.closed}),
    S.home_teaching: frozenset({S.closed}),
    S.transferred: frozenset({S.closed}),
    S.unable_to_study: frozenset({S.closed}),
    S.closed: frozenset({S.reported}),  # reopened: the child dropped out again within the term
}

# The column that records when a case last entered each state ("reported" is opened_at).
TIMESTAMP_COLUMN: dict[CaseStatus, str] = {s: f"{s.value}_at" for s in CaseStatus}
TIMESTAMP_COLUMN[S.reported] = "reopened_at"  # entering reported again can only be a reopen


class FalseAlarmReason(str, enum.Enum):
    sick = "sick"
    on_leave = "on_leave"
    data_error = "data_error"
    transferred = "transferred"  # with the receiving school's receipt (回执)
    returned = "returned"        # the child was back before anyone checked


class DropoutCause(str, enum.Enum):
    """Why a confirmed dropout left school. ``illness`` as a cause of dropping out is not the
    false-alarm reason ``sick`` (a sick child on unfiled leave has not dropped out)."""

    poverty = "poverty"                        # 因贫
    weariness_of_study = "weariness_of_study"  # 厌学
    left_to_work = "left_to_work"              # 外出务工
    illness = "illness"                        # 疾病
    disability = "disability"                  # 残疾
    family = "family"                          # 家庭变故
    early_marriage = "early_marriage"          # 早婚
    other = "other"


# What a close-out (销号) rests on, by the state it closes: the field of the evidence that must
# name it. A false alarm's depends on its reason (FALSE_ALARM_EVIDENCE).
CLOSE_OUT_EVIDENCE: dict[CaseStatus, tuple[str, str]] = {
    S.returned: ("returned_on", "the confirmed date the child returned to school"),
    S.home_teaching: ("document_ref", "the home-teaching arrangement (送教上门) it rests on"),
    S.transferred: ("receipt", "the receiving school's receipt (回执)"),
    S.unable_to_study: ("document_ref", "the certificate that the child is unable to study"),
}
FALSE_ALARM_EVIDENCE: dict[str, tuple[str, str]] = {
    FalseAlarmReason.returned.value: ("returned_on", "the date the child was back at school"),
    FalseAlarmReason.transferred.value: ("receipt", "the receiving school's receipt (回执)"),
}
FALSE_ALARM_DEFAULT_EVIDENCE = ("description", "what shows it was a false alarm (a leave slip, a corrected record)")


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
    causes: tuple[str, ...] = ()
    false_alarm_reason: str | None = None  # the stored one, for a false alarm being closed


def is_legal(current: CaseStatus, target: CaseStatus) -> bool:
    return target in TRANSITIONS[current]


def close_out_evidence(status: CaseStatus, false_alarm_reason: str | None = None) -> tuple[str, str]:
    """The evidence field a close-out from ``status`` rests on, and what it is."""
    if status is S.false_alarm:
        return FALSE_ALARM_EVIDENCE.get(false_alarm_reason or "", FALSE_ALARM_DEFAULT_EVIDENCE)
    return CLOSE_OUT_EVIDENCE[status]


def _missing(field_name: str, message: str) -> dict[str, str]:
    return {"field": field_name, "pointer": "/" + field_name.replace(".", "/"), "message": message}


def check(facts: CaseFacts, target: CaseStatus, *, now: datetime, reopen_window: timedelta) -> None:
    """Raise IllegalTransition (→ 409) or MissingData (→ 422); return None when the move may happen."""
    if not is_legal(facts.status, target):
        raise IllegalTransition(facts.status, target)
    errors: list[dict[str, str]] = []
    if target is S.false_alarm and facts.reason not in {r.value for r in FalseAlarmReason}:
        errors.append(_missing("reason", "a false alarm needs a reason: " + ", ".join(r.value for r in FalseAlarmReason)))
    if target is S.false_alarm and facts.reason == FalseAlarmReason.transferred.value \
            and not (facts.evidence or {}).get("receipt"):
        errors.append(_missing("evidence.receipt", "a false alarm 'transferred' needs the receiving school's receipt (回执)"))
    if target is S.confirmed:
        known = {c.value for c in DropoutCause}
        if not facts.causes or any(c not in known for c in facts.causes):
            errors.append(_missing("causes", "a confirmed dropout names its causes: " + ", ".join(sorted(known))))
    if target is S.persuading:
        if not facts.responsible_person:
            errors.append(_missing("responsible_person", "assign the person responsible for persuasion first "
                                                         "(PUT /v1/cases/{id}/responsibility)"))
        if facts.plan_items == 0:
            errors.append(_missing("plan", "record at least one plan item first (POST /v1/cases/{id}/plan-items)"))
    if target is S.transferred and not (facts.evidence or {}).get("receipt"):
        errors.append(_missing("evidence.receipt", "a transfer needs the receiving school's receipt (回执)"))
    if target is S.closed:
        field_name, message = close_out_evidence(facts.status, facts.false_alarm_reason)
        if not (facts.evidence or {}).get(field_name):
            errors.append(_missing(f"evidence.{field_name}", f"close-out (销号) names its evidence: {message}"))
    if target is S.reported and (facts.closed_at is None or now - facts.closed_at > reopen_window):
        raise IllegalTransition(facts.status, target, "only a case closed within the term may be reopened; "
                                                      "a later dropout opens a new case")
    if errors:
        raise MissingData(errors)
