"""The episode that opened a case has ended (attendance's student.returned)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from cases.adapters.tables import cases, timeline
from cases.domain.lifecycle import CaseStatus
from cases.domain.moves import MoveRequest
from cases.usecases.common import SYSTEM, add_timeline
from cases.usecases.moves import move_case
from shared.events.attendance import StudentReturned
from shared.routes import Received
from shared.uow import UnitOfWork

# What attendance's "the episode that fired has ended" means for a case, by its reason.
RETURN_TIMELINE = {
    "returned": "student_returned",      # seen in class again
    "withdrawn": "absence_withdrawn",    # leave granted late or a roll call corrected: verify, likely a false alarm
    "not_attending": "student_off_roll",  # the registry took the child off the roll (transfer, suspension...)
}


async def on_student_returned(uow: UnitOfWork, event: Received[StudentReturned]) -> None:
    """Attendance says the episode that opened the case has ended: noted on an open case's
    timeline. Only a real return (the child seen in class) moves a persuading case to returned
    by itself, with the return date as its evidence; a withdrawn alarm or a child taken off the
    roll is for the case's officials to judge (a false alarm, a transfer)."""
    d = event.data
    reason = d.reason or "returned"
    case = (await uow.session.execute(select(cases).where(
        cases.c.child_id == d.student_id, cases.c.status != CaseStatus.closed.value))).mappings().first()
    if case is None:
        return
    if not await note_return(uow, case["id"], episode_id=d.episode_id, reason=reason,
                              returned_at=d.returned_at):
        return
    if reason == "returned":
        await mark_back(uow, case["id"])
    if case["status"] == CaseStatus.persuading.value and reason == "returned":
        returned_on = str(d.returned_at)[:10]
        await move_case(uow, case, MoveRequest(
            CaseStatus.returned, actor=SYSTEM, note="confirmed by attendance",
            evidence={"returned_on": returned_on, "confirmed_by": "attendance", "episode_id": d.episode_id}))


async def note_return(uow: UnitOfWork, case_id: str, *, episode_id: str | None, reason: str,
                       returned_at: Any) -> bool:
    """Put an episode's end on the case's timeline once: a late-detected alarm brings its end
    along, and the `student.returned` that follows it says the same again."""
    kind = RETURN_TIMELINE.get(reason, "student_returned")
    noted = (await uow.session.execute(select(timeline.c.detail).where(
        timeline.c.case_id == case_id, timeline.c.kind == kind))).scalars()
    if episode_id is not None and any((detail or {}).get("episode_id") == episode_id for detail in noted):
        return False
    await add_timeline(uow, case_id, kind, {"returned_at": returned_at, "episode_id": episode_id, "reason": reason})
    return True


async def mark_back(uow: UnitOfWork, case_id: str | None) -> None:
    """The child is known to be back (first time only): the one place ``back_at`` is written. The
    verification deadline then issues nothing (``cases.domain.model.known_back``)."""
    if case_id is not None:
        await uow.session.execute(update(cases).where(cases.c.id == case_id, cases.c.back_at.is_(None))
                                  .values(back_at=uow.clock.now()))
