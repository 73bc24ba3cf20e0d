"""Roll-call completeness reads: missing class-sessions, taken roll calls that left pupils off,
and sessions of an episode nobody took a roll call for."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from attendance.adapters.tables import marks, placements, roll_call_gaps, roll_calls
from attendance.domain import roll_call_gaps as gaps
from attendance.domain.calendar import Calendar
from attendance.settings import AttendanceSettings
from shared.auth import Principal, Role
from shared.errors import Invalid
from shared.pagination import Page, PageParams
from shared.paths import naming
from shared.sql import fetch_page
from shared.uow import UnitOfWork


def _today(uow: UnitOfWork, settings: AttendanceSettings) -> date:
    return uow.clock.now().astimezone(ZoneInfo(settings.timezone)).date()


async def missing_list(uow: UnitOfWork, settings: AttendanceSettings, page: PageParams, caller: Principal, *,
                       org_code: str | None, start: date | None, end: date | None) -> Page:
    """Missing class-sessions in the caller's scope, newest first: head teachers their classes,
    school staff their school, officials their region."""
    end = end or _today(uow, settings)
    start = start or end - timedelta(days=30)
    if start > end or (end - start).days > 366:
        raise Invalid("from must be on or before to, at most 366 days apart",
                      errors=[{"field": "from", "pointer": "/from", "message": "range"}])
    path = roll_call_gaps.c.org_path
    conditions = [caller.within(path), roll_call_gaps.c.date >= start,
                  roll_call_gaps.c.date <= end]
    if caller.role is Role.head_teacher:
        conditions.append(roll_call_gaps.c.class_id.in_(sorted(caller.classes)))
    if org_code:
        conditions.append(naming(path, org_code))
    rows, total = await fetch_page(
        uow.session,
        select(roll_call_gaps.c.class_id, roll_call_gaps.c.school_code, roll_call_gaps.c.date,
               roll_call_gaps.c.session, roll_call_gaps.c.session_at, roll_call_gaps.c.missing_since,
               roll_call_gaps.c.filled_at)
        .where(*conditions)
        .order_by(roll_call_gaps.c.date.desc(), roll_call_gaps.c.session.desc(), roll_call_gaps.c.class_id),
        limit=page.limit, offset=page.offset)
    items = [{**r, "kind": "missing", "unmarked": [], "filled_late": r["filled_at"] is not None} for r in rows]
    return Page.of(items, total, page)


async def unmarked_list(uow: UnitOfWork, settings: AttendanceSettings, page: PageParams, caller: Principal, *,
                        org_code: str | None, start: date | None, end: date | None) -> Page:
    """Taken roll calls that left off pupils on the class's roll that day (newest first), in the
    caller's scope. On the roll is the dated placement in force on the roll call's date, so a
    pupil who joined the class later is not listed against its older roll calls."""
    end = end or _today(uow, settings)
    start = start or end - timedelta(days=30)
    if start > end or (end - start).days > 366:
        raise Invalid("from must be on or before to, at most 366 days apart",
                      errors=[{"field": "from", "pointer": "/from", "message": "range"}])
    later = placements.alias("later")
    path = placements.c.org_path
    conditions = [placements.c.class_id == roll_calls.c.class_id, placements.c.active,
                  placements.c.effective_on <= roll_calls.c.date,
                  ~select(later.c.student_id).where(
                      later.c.student_id == placements.c.student_id, later.c.effective_on > placements.c.effective_on,
                      later.c.effective_on <= roll_calls.c.date).exists(),
                  ~select(marks.c.student_id).where(
                      marks.c.roll_call_id == roll_calls.c.id, marks.c.student_id == placements.c.student_id).exists(),
                  roll_calls.c.date >= start, roll_calls.c.date <= end,
                  caller.within(path)]
    if caller.role is Role.head_teacher:
        conditions.append(roll_calls.c.class_id.in_(sorted(caller.classes)))
    if org_code:
        conditions.append(naming(path, org_code))
    rows = (await uow.session.execute(
        select(roll_calls.c.class_id, roll_calls.c.school_code, roll_calls.c.date, roll_calls.c.session,
               roll_calls.c.session_at, placements.c.student_id)
        .select_from(roll_calls.join(placements, placements.c.class_id == roll_calls.c.class_id))
        .where(*conditions))).all()
    grouped: dict[tuple[str, date, str], dict[str, Any]] = {}
    for r in rows:
        item = grouped.setdefault((r.class_id, r.date, r.session), {
            "class_id": r.class_id, "school_code": r.school_code, "date": r.date, "session": r.session,
            "session_at": r.session_at, "kind": "unmarked", "missing_since": None, "filled_late": False,
            "filled_at": None, "unmarked": []})
        item["unmarked"].append(r.student_id)
    items = sorted(grouped.values(), key=lambda i: (i["date"], i["session"], i["class_id"]), reverse=True)
    for i in items:
        i["unmarked"].sort()
    return Page.of(items[page.offset: page.offset + page.limit], len(items), page)


async def unrecorded_in_episode(uow: UnitOfWork, settings: AttendanceSettings, calendar: Calendar, class_id: str,
                                started_at: datetime, until: datetime) -> int:
    """Expected sessions from an episode's start until now with no roll call for the child's class."""
    first, last = calendar.local_date(started_at), calendar.local_date(until)
    expected = [s for s in gaps.expected_sessions(calendar, first, last) if started_at <= s.starts_at <= until]
    if not expected:
        return 0
    taken = set((await uow.session.execute(
        select(roll_calls.c.date, roll_calls.c.session)
        .where(roll_calls.c.class_id == class_id, roll_calls.c.date >= first, roll_calls.c.date <= last)
    )).all())
    return sum((s.day, s.session) not in taken for s in expected)
