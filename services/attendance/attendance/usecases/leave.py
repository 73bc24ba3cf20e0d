"""Leave: a request filed, then approved or rejected (a head teacher within the allowance, else
the school office); approval excuses the absences in its range."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from attendance.adapters.inputs import calendar_of, placement_on, placements_of
from attendance.adapters.tables import leaves, roster
from attendance.domain.leave import (
    IllegalTransition,
    LeaveDays,
    LeaveRequest,
    LeaveStatus,
    chained_school_days,
    decide,
)
from attendance.queries.scope import student_in_scope
from attendance.settings import AttendanceSettings
from attendance.usecases.episodes import sync_episodes
from shared import audit
from shared.auth import Principal, Role
from shared.errors import Conflict, Invalid, NotFound, Problem
from shared.uow import UnitOfWork


async def record_leave(uow: UnitOfWork, settings: AttendanceSettings, cmd: LeaveRequest,
                       caller: Principal) -> dict[str, Any]:
    """A leave request (a head teacher or the school office files it); it excuses nothing until
    approved. A sick note handed in late is checked against where the child was on its first day:
    the head teacher of the class the child has since left may still file it."""
    day = cmd.start.astimezone(ZoneInfo(settings.timezone)).date()
    student = (await uow.session.execute(select(roster).where(roster.c.student_id == cmd.student_id))).first()
    dated = (await placements_of(uow, [cmd.student_id])).get(cmd.student_id)
    then = placement_on(dated, day) if dated else student
    # The class the child was in that day, or the one the child is in now.
    seen = student and next((p for p in (then, student) if caller.sees(p.org_path, p.class_id)), None)
    if seen is None:
        raise NotFound(f"no student with id {cmd.student_id} on any roster")
    audit.note_place(seen.org_path)
    if not then.active:
        raise Invalid(f"student {cmd.student_id} was not attending on {day.isoformat()}",
                      errors=[{"field": "start", "pointer": "/start", "message": "not attending (status) on that date"}])
    row = {"id": str(uuid.uuid4()), "student_id": cmd.student_id, "start": cmd.start, "end": cmd.end,
           "reason": cmd.reason, "status": LeaveStatus.requested.value, "requested_by": caller.subject,
           "requested_via": cmd.requested_via, "created_at": uow.clock.now()}
    await uow.session.execute(insert(leaves).values(**row))
    await uow.commit()
    return row


async def decide_leave(uow: UnitOfWork, settings: AttendanceSettings, leave_id: str, target: LeaveStatus,
                       note: str | None, caller: Principal) -> dict[str, Any]:
    """Approve or reject a request. Approval excuses the absences in its range, even ones marked
    (and fired) before: the student's episodes are recomputed at once."""
    row = (await uow.session.execute(select(leaves).where(leaves.c.id == leave_id))).first()
    if row is None:
        raise NotFound(f"no leave with id {leave_id}")
    try:
        student = await student_in_scope(uow, row.student_id, caller)
    except NotFound:
        raise NotFound(f"no leave with id {leave_id}") from None
    try:
        status = decide(LeaveStatus(row.status), target)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from None
    if caller.role is Role.head_teacher:
        await _within_head_teacher_allowance(uow, settings, row, student.org_path)
    decision = {"status": status.value, "decided_by": caller.subject, "decided_at": uow.clock.now(),
                "decision_note": note}
    await uow.session.execute(update(leaves).where(leaves.c.id == leave_id).values(**decision))
    if status is LeaveStatus.approved:
        await sync_episodes(uow, settings, [row.student_id])
    await uow.commit()
    return {**row._asdict(), **decision}


class NeedsSchoolOffice(Problem):
    status, slug, title = 403, "leave-needs-school-office", "Leave this long is the school office's to decide"


async def _within_head_teacher_allowance(uow: UnitOfWork, settings: AttendanceSettings, leave: Any,
                                         org_path: list[str]) -> None:
    """A head teacher decides leave of up to ``head_teacher_leave_max_days`` school days, counted
    with the child's approved leave consecutive with it (so the allowance cannot be split into
    one-day slices); beyond that the school office decides."""
    calendar = await calendar_of(uow, settings, org_path)

    def days(start: datetime, end: datetime) -> LeaveDays:
        return LeaveDays(calendar.local_date(start), calendar.local_date(end - timedelta(microseconds=1)))

    approved = (await uow.session.execute(select(leaves.c.start, leaves.c.end).where(
        leaves.c.student_id == leave.student_id, leaves.c.status == LeaveStatus.approved.value,
        leaves.c.id != leave.id))).all()
    total = chained_school_days(days(leave.start, leave.end), [days(a.start, a.end) for a in approved],
                                calendar.is_school_day)
    cap = settings.head_teacher_leave_max_days
    if total > cap:
        raise NeedsSchoolOffice(
            f"this leave makes {total} school days with the child's consecutive leave; a head teacher decides "
            f"up to {cap}: the school office (school_staff) decides this one", school_days=total, allowance=cap)
