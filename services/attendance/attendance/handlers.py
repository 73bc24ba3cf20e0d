"""Attendance use cases: roster upkeep from registry events, roll calls, leave, the detector."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import delete, insert, select, update

from shared import audit
from shared.auth import Principal
from shared.envelope import TOPIC_ATTENDANCE, Event, stable_id
from shared.errors import Invalid, NotFound
from shared.sql import upsert
from shared.uow import UnitOfWork

from attendance.adapters.tables import calendars, episodes, leaves, marks, roll_calls, roster
from attendance.domain import episodes as rule
from attendance.entrypoints.schemas import CalendarIn, LeaveIn, RollCallIn
from attendance.settings import AttendanceSettings

log = structlog.get_logger("baoxue.attendance")

THRESHOLD_REACHED = "baoxue.attendance.absence.threshold_reached"
STUDENT_RETURNED = "baoxue.attendance.student.returned"
# Registry statuses in which a child is expected in class and so can be absent.
ATTENDING = frozenset({"enrolled", "transferred_in"})


# --- registry events -----------------------------------------------------------------------

async def on_student_enrolled(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    values = {
        "school_code": d["school_code"], "class_id": d["class_id"], "grade": d["grade"],
        "org_path": d["org_path"], "org_chain": d.get("org_chain", []), "active": d.get("status", "enrolled") in ATTENDING,
        "status": d.get("status", "enrolled"), "updated_at": uow.clock.now(),
    }
    await upsert(uow.session, roster, {"student_id": d["student_id"]}, values)


async def on_student_status_changed(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    active = d["status"] in ATTENDING
    values: dict[str, Any] = {"status": d["status"], "active": active, "updated_at": uow.clock.now()}
    for field in ("school_code", "class_id", "grade", "org_path", "org_chain"):
        if field in d:
            values[field] = d[field]
    await uow.session.execute(update(roster).where(roster.c.student_id == d["student_id"]).values(**values))
    if not active:
        # A child who left (transfer, suspension, home teaching...) is not absent: close the episode.
        await uow.session.execute(
            update(episodes)
            .where(episodes.c.student_id == d["student_id"], episodes.c.ended_at.is_(None))
            .values(ended_at=uow.clock.now())
        )


# --- roll calls and leave ------------------------------------------------------------------

def session_start(settings: AttendanceSettings, day, session: str) -> datetime:
    local = datetime.combine(day, settings.session_am_starts if session == "am" else settings.session_pm_starts)
    return local.replace(tzinfo=ZoneInfo(settings.timezone)).astimezone(timezone.utc)


async def _class_in_scope(uow: UnitOfWork, class_id: str, caller: Principal) -> None:
    """A class is known through its students on the roster; outside the caller's scope it is not found."""
    row = (await uow.session.execute(
        select(roster.c.org_path).where(roster.c.class_id == class_id).limit(1))).first()
    if row is None or not audit.sees(caller, row.org_path, class_id):
        raise NotFound(f"no class with id {class_id}")


async def _student_in_scope(uow: UnitOfWork, student_id: str, caller: Principal) -> Any:
    row = (await uow.session.execute(select(roster).where(roster.c.student_id == student_id))).first()
    if row is None or not audit.sees(caller, row.org_path, row.class_id):
        raise NotFound(f"no student with id {student_id} on any roster")
    return row


async def record_roll_call(uow: UnitOfWork, settings: AttendanceSettings, cmd: RollCallIn,
                           caller: Principal) -> dict[str, Any]:
    await _class_in_scope(uow, cmd.class_id, caller)
    ids = [m.student_id for m in cmd.marks]
    known = {
        r.student_id: r
        for r in (await uow.session.execute(
            select(roster.c.student_id, roster.c.class_id, roster.c.active).where(roster.c.student_id.in_(ids))
        )).all()
    }
    problems = []
    for i, m in enumerate(cmd.marks):
        r = known.get(m.student_id)
        reason = ("unknown student" if r is None else
                  "not in this class" if r.class_id != cmd.class_id else
                  "not attending (status)" if not r.active else None)
        if reason:
            problems.append({"field": f"marks.{i}.student_id", "pointer": f"/marks/{i}/student_id",
                             "message": f"{m.student_id}: {reason}"})
    if problems:
        raise Invalid(f"{len(problems)} mark(s) name students not attending class {cmd.class_id}: "
                      + ", ".join(p["message"] for p in problems[:5]), errors=problems)

    today_local = uow.clock.now().astimezone(ZoneInfo(settings.timezone)).date()
    if cmd.date > today_local:
        raise Invalid(f"a roll call for {cmd.date.isoformat()} is in the future (today is {today_local.isoformat()})",
                      errors=[{"field": "date", "pointer": "/date", "message": "in the future"}])
    at = session_start(settings, cmd.date, cmd.session)
    existing = (await uow.session.execute(
        select(roll_calls.c.id).where(roll_calls.c.class_id == cmd.class_id, roll_calls.c.date == cmd.date,
                                      roll_calls.c.session == cmd.session)
    )).scalar_one_or_none()
    affected = set(ids)
    if existing is not None:
        # Re-posting replaces the roll call: students dropped from it are recomputed too.
        affected |= set((await uow.session.execute(
            select(marks.c.student_id).where(marks.c.roll_call_id == existing))).scalars())
        await uow.session.execute(delete(marks).where(marks.c.roll_call_id == existing))
        await uow.session.execute(delete(roll_calls).where(roll_calls.c.id == existing))
    roll_call_id = (await uow.session.execute(
        insert(roll_calls).values(school_code=cmd.school_code, class_id=cmd.class_id, date=cmd.date,
                                  session=cmd.session, session_at=at, received_at=uow.clock.now(),
                                  device_recorded_at=cmd.recorded_at)
        .returning(roll_calls.c.id)
    )).scalar_one()
    # One statement for the whole class, not one per student.
    await uow.session.execute(
        insert(marks), [{"roll_call_id": roll_call_id, "student_id": m.student_id, "at": at, "status": m.status}
                        for m in cmd.marks]
    )
    await sync_episodes(uow, sorted(affected))
    await uow.commit()
    return {"school_code": cmd.school_code, "class_id": cmd.class_id, "date": cmd.date, "session": cmd.session,
            "marks": len(cmd.marks), "replaced": existing is not None}


async def record_leave(uow: UnitOfWork, cmd: LeaveIn, caller: Principal) -> dict[str, Any]:
    await _student_in_scope(uow, cmd.student_id, caller)
    row = {"id": str(uuid.uuid4()), "student_id": cmd.student_id, "start": cmd.start, "end": cmd.end,
           "reason": cmd.reason, "status": "approved"}
    await uow.session.execute(insert(leaves).values(**row))
    await sync_episodes(uow, [cmd.student_id])
    await uow.commit()
    return row


async def put_calendar(uow: UnitOfWork, school_code: str, body: CalendarIn, caller: Principal) -> dict[str, Any]:
    row = (await uow.session.execute(
        select(roster.c.org_path).where(roster.c.school_code == school_code).limit(1))).first()
    if row is None or not audit.sees_org(caller, row.org_path):
        raise NotFound(f"no school with code {school_code} known to attendance")
    doc = body.model_dump(mode="json")
    await uow.session.execute(delete(calendars).where(calendars.c.school_code == school_code))
    await uow.session.execute(insert(calendars).values(school_code=school_code, body=doc, updated_at=uow.clock.now()))
    await uow.commit()
    return {"school_code": school_code, **doc}


async def sync_episodes(uow: UnitOfWork, student_ids: list[str]) -> None:
    """Recompute the students' episodes from all their marks and leave, and store the difference.

    Marks, leave and stored episodes are each loaded in one query for all the students. A stored
    episode belongs to the computed episode whose absent span it overlaps: an absence posted late
    (a teacher catching up) moves an episode's start but keeps its identity, so a streak that
    already fired is never fired again as a "new" episode. When the student is seen again
    the episode ends and `student.returned` is emitted once."""
    if not student_ids:
        return
    now = uow.clock.now()
    marks_by: dict[str, list[rule.Mark]] = {s: [] for s in student_ids}
    for sid, at, status in (await uow.session.execute(
        select(marks.c.student_id, marks.c.at, marks.c.status).where(marks.c.student_id.in_(student_ids))
    )).all():
        marks_by[sid].append(rule.Mark(at, status))
    leave_by: dict[str, list[rule.LeaveSpan]] = {s: [] for s in student_ids}
    for sid, start, end in (await uow.session.execute(
        select(leaves.c.student_id, leaves.c.start, leaves.c.end)
        .where(leaves.c.student_id.in_(student_ids), leaves.c.status == "approved")
    )).all():
        leave_by[sid].append(rule.LeaveSpan(start, end))
    stored_by: dict[str, list[Any]] = {s: [] for s in student_ids}
    for row in (await uow.session.execute(select(episodes).where(episodes.c.student_id.in_(student_ids)))).all():
        stored_by[row.student_id].append(row)

    for sid in student_ids:
        unclaimed = sorted(stored_by[sid], key=lambda r: r.started_at)
        for ep in rule.episodes(marks_by[sid], leave_by[sid]):
            first, last = ep.absent_sessions[0], ep.absent_sessions[-1]
            mine = [r for r in unclaimed if r.started_at <= last and r.last_absent_at >= first]
            unclaimed = [r for r in unclaimed if r not in mine]
            fired = [r for r in mine if r.threshold_fired_at is not None]
            keeper = fired[0] if fired else (mine[0] if mine else None)
            for other in mine:
                if other is not keeper:
                    await _retire(uow, other, now)
            values = {"started_at": ep.started_at, "last_absent_at": ep.absent_sessions[-1],
                      "absent_sessions": len(ep.absent_sessions), "ended_at": ep.ended_at}
            if keeper is None:
                await uow.session.execute(insert(episodes).values(id=str(uuid.uuid4()), student_id=sid, **values))
                continue
            await uow.session.execute(update(episodes).where(episodes.c.id == keeper.id).values(**values))
            if keeper.threshold_fired_at is not None and keeper.ended_at is None and ep.ended_at is not None:
                _emit_returned(uow, keeper, ep.ended_at)
        # Stored episodes the marks no longer support (a corrected roll call, leave granted late).
        for row in unclaimed:
            await _retire(uow, row, now)


async def _retire(uow: UnitOfWork, row: Any, now: datetime) -> None:
    """An episode the marks no longer support: forget it if it never fired, else close it (the
    case it opened stays, and is resolved by people, not by a recomputation)."""
    if row.threshold_fired_at is None:
        await uow.session.execute(delete(episodes).where(episodes.c.id == row.id))
    elif row.ended_at is None:
        await uow.session.execute(update(episodes).where(episodes.c.id == row.id).values(ended_at=now))


def _emit_returned(uow: UnitOfWork, row: Any, returned_at: datetime) -> None:
    uow.emit(
        topic=TOPIC_ATTENDANCE, type=STUDENT_RETURNED, subject=row.student_id,
        event_id=stable_id("returned", row.id),
        data={"student_id": row.student_id, "episode_id": row.id, "episode_started_at": row.started_at,
              "returned_at": returned_at},
    )


async def absence_of(uow: UnitOfWork, settings: AttendanceSettings, student_id: str,
                     caller: Principal) -> dict[str, Any]:
    await _student_in_scope(uow, student_id, caller)
    row = (await uow.session.execute(
        select(episodes).where(episodes.c.student_id == student_id, episodes.c.ended_at.is_(None))
        .order_by(episodes.c.started_at.desc()).limit(1)
    )).first()
    now = uow.clock.now()
    hours = (now - row.started_at) / timedelta(hours=1) if row else 0.0
    return {
        "student_id": student_id,
        "since": row.started_at if row else None,
        "hours": round(hours, 2),
        "absent_sessions": row.absent_sessions if row else 0,
        "threshold_hours": settings.absence_threshold_hours,
        "threshold_reached": bool(row) and hours >= settings.absence_threshold_hours,
        "counting": settings.absence_counting,
    }


# --- the detector --------------------------------------------------------------------------

async def detect_overdue(uow: UnitOfWork, settings: AttendanceSettings) -> int:
    """One set-based pass: claim every open, unfired episode past the threshold and emit
    `threshold_reached` for each, in one transaction.

    Exactly once with any number of detectors: the UPDATE only matches rows whose
    threshold_fired_at is still NULL, so a concurrent pass (PostgreSQL re-checks the WHERE after
    the row lock; SQLite serialises writers) claims nothing twice. The event id is derived from
    the episode, so even a replayed outbox row is recognised downstream."""
    now = uow.clock.now()
    cutoff = now - timedelta(hours=settings.absence_threshold_hours)
    attending = select(roster.c.student_id).where(roster.c.active.is_(True))
    overdue = (episodes.c.ended_at.is_(None), episodes.c.threshold_fired_at.is_(None),
               episodes.c.started_at <= cutoff, episodes.c.student_id.in_(attending))
    # Skip rows a roll call is changing right now (the next pass gets them): a plain UPDATE
    # would lock the rows in scan order against the roll call's student order and deadlock
    # (seen under a burst of roll calls on PostgreSQL). SQLite ignores the clause; it has one writer.
    free = select(episodes.c.id).where(*overdue).with_for_update(skip_locked=True)
    claimed = (await uow.session.execute(
        update(episodes)
        .where(episodes.c.id.in_(free.scalar_subquery()), *overdue)
        .values(threshold_fired_at=now)
        .returning(episodes.c.id, episodes.c.student_id, episodes.c.started_at, episodes.c.last_absent_at,
                   episodes.c.absent_sessions)
    )).all()
    if not claimed:
        await uow.rollback()
        return 0
    where = {r.student_id: r for r in (await uow.session.execute(
        select(roster).where(roster.c.student_id.in_([c.student_id for c in claimed])))).all()}
    for ep in claimed:
        r = where[ep.student_id]
        started = ep.started_at
        uow.emit(
            topic=TOPIC_ATTENDANCE, type=THRESHOLD_REACHED, subject=ep.student_id,
            # The episode row's id: the same episode never gets a second id, whatever its start.
            event_id=stable_id("threshold", ep.id),
            data={
                "student_id": ep.student_id, "episode_id": ep.id, "episode_started_at": started,
                "last_absent_at": ep.last_absent_at, "absent_sessions": ep.absent_sessions,
                "hours": round((now - started) / timedelta(hours=1), 2),
                "threshold_hours": settings.absence_threshold_hours, "counting": settings.absence_counting,
                "school_code": r.school_code, "class_id": r.class_id, "grade": r.grade, "org_path": r.org_path,
                "org_chain": r.org_chain,
            },
        )
    await uow.commit()
    return len(claimed)
