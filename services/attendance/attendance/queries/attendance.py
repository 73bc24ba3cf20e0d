"""Attendance reads: a class's roll-call history, a school's daily attendance rate, a student's
share of missed sessions in the term, the current absence episode, leave lists. Each is a few
set-based queries, whatever the size."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, select

from attendance.adapters.inputs import calendar_of, load_inputs
from attendance.adapters.tables import chronic_flags, episodes, leaves, marks, roll_call_revisions, roll_calls, roster
from attendance.domain import chronic, clock
from attendance.domain.calendar import Calendar
from attendance.queries import completeness
from attendance.queries.scope import class_in_scope, school_in_scope, student_in_scope
from attendance.settings import AttendanceSettings
from shared.auth import Principal, Role
from shared.errors import Invalid
from shared.pagination import Page, PageParams
from shared.sql import any_of, built_once, fetch_page
from shared.uow import UnitOfWork

STATUSES = ("present", "late", "absent", "leave")


def _today(uow: UnitOfWork, settings: AttendanceSettings) -> date:
    return uow.clock.now().astimezone(ZoneInfo(settings.timezone)).date()


async def roll_call_history(uow: UnitOfWork, class_id: str, page: PageParams, caller: Principal) -> Page:
    await class_in_scope(uow, class_id, caller)
    rows, total = await fetch_page(
        uow.session,
        select(roll_calls.c.id, roll_calls.c.date, roll_calls.c.session, roll_calls.c.session_at,
               roll_calls.c.received_at, roll_calls.c.device_recorded_at, roll_calls.c.sender, roll_calls.c.client_id)
        .where(roll_calls.c.class_id == class_id)
        .order_by(roll_calls.c.date.desc(), roll_calls.c.session.desc()),
        limit=page.limit, offset=page.offset)
    by_call: dict[int, list[dict[str, str]]] = {r["id"]: [] for r in rows}
    if by_call:
        for rc, sid, status in (await uow.session.execute(
            select(marks.c.roll_call_id, marks.c.student_id, marks.c.status)
            .where(marks.c.roll_call_id.in_(list(by_call))).order_by(marks.c.student_id))).all():
            by_call[rc].append({"student_id": sid, "status": status})
    replaced = await _replaced_sends(uow, class_id, [r["date"] for r in rows])
    items = []
    for r in rows:
        current = {"client_id": r["client_id"], "sender": r["sender"], "device_recorded_at": r["device_recorded_at"],
                   "received_at": r["received_at"], "marks": by_call[r["id"]]}
        sends = [*replaced.get((r["date"], r["session"]), []), current]
        items.append({
            "id": r["id"], "date": r["date"], "session": r["session"], "session_at": r["session_at"],
            "received_at": r["received_at"], "marks": by_call[r["id"]],
            "revisions": [{**send, "result": "replaced" if i else "created"} for i, send in enumerate(sends)],
            "counts": {s: sum(m["status"] == s for m in by_call[r["id"]]) for s in STATUSES}})
    return Page.of(items, total, page)


async def _replaced_sends(uow: UnitOfWork, class_id: str, days: list[date]
                          ) -> dict[tuple[date, str], list[dict[str, Any]]]:
    """The sends later ones replaced, for the page's class-sessions, oldest first (one query)."""
    if not days:
        return {}
    out: dict[tuple[date, str], list[dict[str, Any]]] = {}
    for r in (await uow.session.execute(
            select(roll_call_revisions).where(roll_call_revisions.c.class_id == class_id,
                                              roll_call_revisions.c.date.between(min(days), max(days)))
            .order_by(roll_call_revisions.c.id))).all():
        out.setdefault((r.date, r.session), []).append({
            "client_id": r.client_id, "sender": r.sender, "device_recorded_at": r.device_recorded_at,
            "received_at": r.received_at, "marks": json.loads(r.marks)})
    return out


async def daily_rate(uow: UnitOfWork, settings: AttendanceSettings, school_code: str, start: date | None,
                     end: date | None, caller: Principal) -> dict[str, Any]:
    await school_in_scope(uow, school_code, caller)
    end = end or _today(uow, settings)
    start = start or end - timedelta(days=29)
    if start > end or (end - start).days > 366:
        raise Invalid("from must be on or before to, at most 366 days apart",
                      errors=[{"field": "from", "pointer": "/from", "message": "range"}])
    counts = [func.sum(case((marks.c.status == s, 1), else_=0)).label(s) for s in STATUSES]
    days = (await uow.session.execute(
        select(roll_calls.c.date, func.count(roll_calls.c.id.distinct()).label("roll_calls"),
               func.count().label("marks"), *counts)
        .select_from(roll_calls.join(marks, marks.c.roll_call_id == roll_calls.c.id))
        .where(roll_calls.c.school_code == school_code, roll_calls.c.date >= start, roll_calls.c.date <= end)
        .group_by(roll_calls.c.date).order_by(roll_calls.c.date))).mappings().all()
    items = []
    for d in days:
        seen = int(d["present"] or 0) + int(d["late"] or 0)
        items.append({"date": d["date"], "roll_calls": d["roll_calls"], "marks": d["marks"],
                      **{s: int(d[s] or 0) for s in STATUSES},
                      "rate": round(seen / d["marks"], 4) if d["marks"] else None})
    return {"school_code": school_code, "from": start, "to": end, "days": items}


async def term_attendance(uow: UnitOfWork, settings: AttendanceSettings, student_id: str, on: date | None,
                          caller: Principal) -> dict[str, Any]:
    place = await student_in_scope(uow, student_id, caller)
    calendar = await calendar_of(uow, settings, place.org_path)
    term = calendar.term_for_counting(on or _today(uow, settings))
    counted = (await uow.session.execute(*term_counts(uow.session, [student_id], calendar, term))).first()
    share = chronic.Share(counted.sessions, int(counted.missed or 0)) if counted else chronic.Share(0, 0)
    flag = (await uow.session.execute(
        select(chronic_flags.c.flagged_at).where(chronic_flags.c.student_id == student_id,
                                                  chronic_flags.c.term == term.name))).scalar_one_or_none()
    return {"student_id": student_id, "term": {"name": term.name, "start": term.start, "end": term.end},
            "sessions": share.sessions, "missed": share.missed, "rate": round(share.rate, 4),
            "threshold": settings.chronic_absence_threshold, "flagged": flag is not None, "flagged_at": flag}


async def leave_list(uow: UnitOfWork, page: PageParams, caller: Principal, *, school_code: str | None,
                     student_id: str | None, status: str | None) -> Page:
    """Leave in the caller's scope, newest first: what school staff have to decide."""
    conditions = [caller.within(roster.c.org_path)]
    if caller.role is Role.head_teacher:
        conditions.append(roster.c.class_id.in_(sorted(caller.classes)))
    for column, value in ((roster.c.school_code, school_code), (leaves.c.student_id, student_id),
                          (leaves.c.status, status)):
        if value is not None:
            conditions.append(column == value)
    rows, total = await fetch_page(
        uow.session,
        select(leaves).join(roster, roster.c.student_id == leaves.c.student_id).where(*conditions)
        .order_by(leaves.c.created_at.desc(), leaves.c.id),
        limit=page.limit, offset=page.offset)
    return Page.of([dict(r) for r in rows], total, page)


async def absence_of(uow: UnitOfWork, settings: AttendanceSettings, student_id: str) -> dict[str, Any]:
    """The student's current episode; the caller's scope is checked before (``VisibleStudent``)."""
    row = (await uow.session.execute(
        select(episodes).where(episodes.c.student_id == student_id, episodes.c.ended_at.is_(None))
        .order_by(episodes.c.started_at.desc()).limit(1)
    )).first()
    now = uow.clock.now()
    hours = 0.0
    unrecorded = 0
    if row is not None:
        got = await load_inputs(uow, settings, [student_id], with_marks=False)
        cal = got.calendars[student_id]
        hours = clock.counted_hours(row.started_at, now, cal, settings.absence_counting, got.leaves[student_id])
        # Sessions of the episode nobody took a roll call for: the child may have been in class.
        unrecorded = await completeness.unrecorded_in_episode(uow, settings, cal, got.places[student_id].class_id,
                                                              row.started_at, now)
    return {
        "student_id": student_id,
        "since": row.started_at if row else None,
        "hours": round(hours, 2),
        "absent_sessions": row.absent_sessions if row else 0,
        "threshold_hours": settings.absence_threshold_hours,
        # Reached when a roll call showed the child still away at or after the due instant: the
        # hours alone may pass 48 over a stretch nobody took a roll call for.
        "threshold_reached": bool(row) and row.observed_at is not None,
        "counting": settings.absence_counting,
        "episode_id": row.id if row else None,
        "last_absent_at": row.last_absent_at if row else None,
        "due_at": row.due_at if row else None,
        "observed_at": row.observed_at if row else None,
        "threshold_fired_at": row.threshold_fired_at if row else None,
        "unrecorded_sessions": unrecorded,
    }


_TERM_COUNTS = built_once(lambda d: (
    select(marks.c.student_id, func.count().label("sessions"),
           func.sum(case((marks.c.status.in_(chronic.MISSED), 1), else_=0)).label("missed"))
    .where(any_of(d, marks.c.student_id, "ids"), marks.c.at >= bindparam("term_from"),
           marks.c.at < bindparam("term_to"))
    .group_by(marks.c.student_id)
))


def term_counts(session, student_ids: list[str], calendar: Calendar, term) -> tuple[Any, dict[str, Any]]:
    """Sessions and missed sessions per student in a term: one grouped query (the statement, built
    once, and its parameters). It walks the (student, instant) index from the term's first local
    midnight to the one after its last day; a join on the roll calls' dates would make the planner
    choose between them, and a fresh or unanalysed table made PostgreSQL scan every mark of the
    term for each roll call."""
    return _TERM_COUNTS(session), {"ids": list(student_ids), "term_from": calendar.local_midnight(term.start),
                                   "term_to": calendar.local_midnight(term.end + timedelta(days=1))}
