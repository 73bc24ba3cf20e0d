"""Moving a case through its lifecycle (``cases.domain.lifecycle``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from shared.auth import OFFICIALS, Forbidden, Principal, Role
from shared.envelope import TOPIC_CASES
from shared.errors import Conflict, Invalid
from shared.uow import UnitOfWork

from cases.adapters.tables import cases, plan_items
from cases.domain.lifecycle import (
    OUTCOMES, TIMESTAMP_COLUMN, CaseFacts, CaseStatus, IllegalTransition, MissingData, check,
)
from cases.domain.model import reports_on_decision
from cases.queries.case import get_case
from cases.usecases.common import CASE_CLOSED, CASE_STATUS_CHANGED, add_timeline, opening_of, visible_case
from cases.usecases.dual_reports import issue_reports, withdraw_reports

# Moves that not everyone who works on a case may make: the close-out (销号) and reopening are
# the principal's or an official's (the school owns its ledger); a legal notice is issued by the
# government, so only officials record it. Every other move is open to whoever sees the case.
RESTRICTED_MOVES: dict[CaseStatus, frozenset[Role]] = {
    CaseStatus.closed: OFFICIALS | {Role.school_staff},
    CaseStatus.reported: OFFICIALS | {Role.school_staff},
    CaseStatus.judicial_notice: OFFICIALS,
}


# --- the lifecycle ----------------------------------------------------------------------------

async def transition(uow: UnitOfWork, case_id: str, caller: Principal, *, to: CaseStatus, reason: str | None,
                     evidence: dict[str, Any] | None, note: str | None, reopen_window: timedelta,
                     verify_deadline: timedelta, causes: list[str] | None = None,
                     cause_note: str | None = None) -> dict[str, Any]:
    """Move a case. Asking for the state it is already in changes nothing (a retried request);
    an illegal move is a 409, a legal one missing its data a 422, and neither writes anything."""
    case = await visible_case(uow, case_id, caller)
    if case["status"] != to.value:
        if to in RESTRICTED_MOVES and caller.role not in RESTRICTED_MOVES[to]:
            raise Forbidden(f"the {caller.role.value} role may not move a case to {to.value}")
        plans = (await uow.session.execute(
            select(func.count()).select_from(plan_items).where(plan_items.c.case_id == case_id))).scalar_one()
        merged = {**(case["evidence"] or {}), **(evidence or {})}
        facts = CaseFacts(status=CaseStatus(case["status"]),
                          responsible_person=(case["responsibility"] or {}).get("responsible_person"),
                          plan_items=plans, reason=reason, evidence=merged, closed_at=case["closed_at"],
                          causes=tuple(causes or ()), false_alarm_reason=case["false_alarm_reason"])
        try:
            check(facts, to, now=uow.clock.now(), reopen_window=reopen_window)
        except IllegalTransition as exc:
            raise Conflict(str(exc), current_status=case["status"]) from None
        except MissingData as exc:
            raise Invalid(str(exc), errors=exc.errors) from None
        await move_case(uow, case, to, actor=caller.subject, reason=reason, evidence=evidence, note=note,
                    causes=causes, cause_note=cause_note, verify_deadline=verify_deadline)
        await uow.commit()
    return await get_case(uow, case_id, caller)


async def move_case(uow: UnitOfWork, case: Any, to: CaseStatus, *, actor: str, reason: str | None,
                evidence: dict[str, Any] | None, note: str | None, causes: list[str] | None = None,
                cause_note: str | None = None, verify_deadline: timedelta | None = None) -> None:
    """Write one checked move: the state, its timestamp, a timeline entry and the event, and what
    the decision does to the dual reports (``reports_on_decision``). The UPDATE is conditional on
    the state read, so two officials moving the same case at once cannot both win."""
    now, current = uow.clock.now(), CaseStatus(case["status"])
    values: dict[str, Any] = {"status": to.value, "updated_at": now, TIMESTAMP_COLUMN[to]: now}
    if to is CaseStatus.confirmed:
        values.update(causes=list(causes or []), cause_note=cause_note)
    if evidence:
        values["evidence"] = {**(case["evidence"] or {}), **evidence}
    if to is CaseStatus.false_alarm:
        values["false_alarm_reason"] = reason
    if to in OUTCOMES or to is CaseStatus.false_alarm:
        values["outcome"] = to.value
    if to is CaseStatus.closed:
        values["closed_at"] = now
    reopened = current is CaseStatus.closed
    if reopened:  # a new round: the last close-out's outcome and evidence stay on the timeline
        values.update(outcome=None, evidence=None, false_alarm_reason=None, reopen_count=case["reopen_count"] + 1,
                      causes=None, cause_note=None, back_at=None)
        if case["reports_issued_at"] is None and verify_deadline is not None:
            values["verify_due_at"] = now + verify_deadline  # never reported: checked again by a deadline
    try:
        moved = (await uow.session.execute(
            update(cases).where(cases.c.id == case["id"], cases.c.status == current.value).values(**values)
            .returning(cases.c.id))).first()
    except IntegrityError:
        await uow.rollback()
        raise Conflict("the child already has another open case; it cannot be reopened") from None
    if moved is None:
        raise Conflict("the case changed meanwhile; read it again")
    detail = {"from": current.value, "to": to.value, "reason": reason, "evidence": evidence}
    if to is CaseStatus.confirmed:
        detail.update(causes=list(causes or []), cause_note=cause_note)
    await add_timeline(uow, case["id"], "reopened" if reopened else "status_changed", detail,
                        at=now, actor=actor, note=note)
    if to is CaseStatus.closed:
        uow.emit(topic=TOPIC_CASES, type=CASE_CLOSED, subject=case["student_id"],
                 data={"case_id": case["id"], "student_id": case["student_id"], "status": to.value,
                       "previous_status": current.value, "outcome": case["outcome"],
                       "evidence": values.get("evidence", case["evidence"]), "at": now, "actor": actor})
    else:
        # A confirmation carries why and since when: the registry records the dropout from it,
        # as of the absence's start (or the case's opening).
        confirmed = to is CaseStatus.confirmed
        since = ((await opening_of(uow, case["id"])).get("episode_started_at") or case["opened_at"]) if confirmed else None
        uow.emit(topic=TOPIC_CASES, type=CASE_STATUS_CHANGED, subject=case["student_id"],
                 data={"case_id": case["id"], "student_id": case["student_id"], "status": to.value,
                       "previous_status": current.value, "at": now, "actor": actor,
                       "causes": list(causes or []) if confirmed else None,
                       "cause_note": cause_note if confirmed else None,
                       "origin": case["origin"], "dropped_out_since": since})
    decision = reports_on_decision(to, reports_issued=case["reports_issued_at"] is not None)
    if decision == "issue":
        await issue_reports(uow, case["id"], unverified=False)
    elif decision == "withdraw":
        await withdraw_reports(uow, case, reason=reason)
    elif decision == "none":
        await add_timeline(uow, case["id"], "dual_reports_not_issued", {
            "reason": reason, "why": "a false alarm decided before any report went out: no report was issued"},
            at=now, actor=actor)
