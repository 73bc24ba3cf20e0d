"""Moving a case through its lifecycle: the move is decided in ``cases.domain.moves`` (on the rules
of ``cases.domain.lifecycle``); this loads the case, and writes what was decided."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from cases.adapters.tables import cases, plan_items
from cases.domain.lifecycle import CaseStatus, IllegalTransition, MissingData
from cases.domain.moves import CaseState, MoveRequest, decide_move
from cases.queries.case import get_case
from cases.usecases.common import add_timeline, opening_of
from cases.usecases.dual_reports import issue_reports, withdraw_reports
from shared.auth import OFFICIALS, Forbidden, Principal, Role
from shared.errors import Conflict, Invalid
from shared.uow import UnitOfWork

# Moves that not everyone who works on a case may make: the close-out (销号) and reopening are
# the principal's or an official's (the school owns its ledger); a legal notice is issued by the
# government, so only officials record it. Every other move is open to whoever sees the case.
RESTRICTED_MOVES: dict[CaseStatus, frozenset[Role]] = {
    CaseStatus.closed: OFFICIALS | {Role.school_staff},
    CaseStatus.reported: OFFICIALS | {Role.school_staff},
    CaseStatus.judicial_notice: OFFICIALS,
}


# --- the lifecycle ----------------------------------------------------------------------------

async def transition(uow: UnitOfWork, case: Mapping[str, Any], caller: Principal, request: MoveRequest, *,
                     reopen_window: timedelta, verify_deadline: timedelta) -> dict[str, Any]:
    """Move a case. Asking for the state it is already in changes nothing (a retried request);
    an illegal move is a 409, a legal one missing its data a 422, and neither writes anything."""
    to = request.to
    if case["status"] != to.value:
        if to in RESTRICTED_MOVES and caller.role not in RESTRICTED_MOVES[to]:
            raise Forbidden(f"the {caller.role.value} role may not move a case to {to.value}")
        try:
            await move_case(uow, case, request, reopen_window=reopen_window, verify_deadline=verify_deadline)
        except IllegalTransition as exc:
            raise Conflict(str(exc), current_status=case["status"]) from None
        except MissingData as exc:
            raise Invalid(str(exc), errors=exc.errors) from None
        await uow.commit()
    return await get_case(uow, case["id"], caller)


async def _case_state(uow: UnitOfWork, case: Mapping[str, Any], to: CaseStatus) -> CaseState:
    """What a move is decided on: the stored case, the size of its plan and, for a confirmation,
    when the absence that opened it began."""
    plans = (await uow.session.execute(
        select(func.count()).select_from(plan_items).where(plan_items.c.case_id == case["id"]))).scalar_one()
    started = (await opening_of(uow, case["id"])).get("episode_started_at") if to is CaseStatus.confirmed else None
    return CaseState(
        id=case["id"], child_id=case["child_id"], status=CaseStatus(case["status"]), origin=case["origin"],
        opened_at=case["opened_at"], evidence=case["evidence"], outcome=case["outcome"],
        responsible_person=(case["responsibility"] or {}).get("responsible_person"), plan_items=plans,
        closed_at=case["closed_at"], false_alarm_reason=case["false_alarm_reason"],
        reopen_count=case["reopen_count"], reports_issued=case["reports_issued_at"] is not None,
        episode_started_at=started)


async def move_case(uow: UnitOfWork, case: Mapping[str, Any], request: MoveRequest, *,
                    reopen_window: timedelta = timedelta(0), verify_deadline: timedelta | None = None) -> None:
    """Decide the move (``cases.domain.moves.decide_move``) and write exactly what it decided: the
    columns, a timeline entry, the event, and what the decision does to the dual reports. The
    UPDATE is conditional on the state read, so two officials moving the same case at once
    cannot both win."""
    now = uow.clock.now()
    move = decide_move(await _case_state(uow, case, request.to), request, now=now, reopen_window=reopen_window,
                       verify_deadline=verify_deadline)
    try:
        moved = (await uow.session.execute(
            update(cases).where(cases.c.id == case["id"], cases.c.status == move.previous.value)
            .values(**move.values).returning(cases.c.id))).first()
    except IntegrityError:
        await uow.rollback()
        raise Conflict("the child already has another open case; it cannot be reopened") from None
    if moved is None:
        raise Conflict("the case changed meanwhile; read it again")
    await add_timeline(uow, case["id"], move.timeline_kind, move.timeline_detail, at=now, actor=request.actor,
                       note=request.note)
    uow.emit(move.event, subject=case["child_id"])
    decision = move.reports
    if decision == "issue":
        await issue_reports(uow, case["id"], unverified=False)
    elif decision == "withdraw":
        await withdraw_reports(uow, case, reason=request.reason)
    elif decision == "none":
        await add_timeline(uow, case["id"], "dual_reports_not_issued", {
            "reason": request.reason, "why": "a false alarm decided before any report went out: no report was issued"},
            at=now, actor=request.actor)
