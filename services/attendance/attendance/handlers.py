"""Attendance use cases: roster upkeep from registry events, roll calls, leave, the detector."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import String, bindparam, case, cast, delete, func, insert, or_, select, update

from shared import audit
from shared.auth import Principal, Role
from shared.envelope import TOPIC_ATTENDANCE, Event, stable_id
from shared.errors import Conflict, Invalid, NotFound, Problem
from shared.sql import among, insert_ignoring_conflicts, insert_many, upsert
from shared.uow import UnitOfWork

from attendance.adapters.tables import (LIVE, calendars, chronic_flags, episodes, leaves, marks, roll_call_revisions,
                                        roll_calls, roster)
from attendance.domain import chronic, clock
from attendance.domain import episodes as rule
from attendance.domain.calendar import Calendar, layered
from attendance.domain.leave import IllegalTransition, LeaveDays, LeaveStatus, chained_school_days, decide
from attendance.entrypoints.schemas import CalendarEntriesIn, CalendarIn, LeaveIn, RollCallIn
from attendance.settings import AttendanceSettings

log = structlog.get_logger("baoxue.attendance")

THRESHOLD_REACHED = "baoxue.attendance.absence.threshold_reached"
STUDENT_RETURNED = "baoxue.attendance.student.returned"
CHRONIC_ABSENCE_FLAGGED = "baoxue.attendance.chronic_absence.flagged"
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


async def on_class_promoted(uow: UnitOfWork, event: Event) -> None:
    """A class moved up a grade at year end: the roster's grade follows (threshold events carry it)."""
    d = event.data
    await uow.session.execute(update(roster).where(roster.c.class_id == d["class_id"]).values(
        grade=d["grade"], updated_at=uow.clock.now()))


async def on_student_status_changed(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    active = d["status"] in ATTENDING
    now = uow.clock.now()
    before = (await uow.session.execute(
        select(roster.c.active).where(roster.c.student_id == d["student_id"]))).scalar_one_or_none()
    values: dict[str, Any] = {"status": d["status"], "active": active, "updated_at": now}
    for field in ("school_code", "class_id", "grade", "org_path", "org_chain"):
        if field in d:
            values[field] = d[field]
    if active and before is False:
        # Back on the roll (after a suspension, a confirmed transfer): absences from the earlier
        # stay never count again. The date begins first at UTC+14, so no session of it is cut off.
        values["attending_since"] = datetime.combine(
            date.fromisoformat(d["effective_on"]), time.min, tzinfo=timezone(timedelta(hours=14))
        ) if d.get("effective_on") else now
    await uow.session.execute(update(roster).where(roster.c.student_id == d["student_id"]).values(**values))
    if not active:
        # A child who left (transfer, suspension, home teaching...) is not absent: close the
        # episode, and tell cases when it had already fired.
        for row in (await uow.session.execute(
            select(episodes).where(episodes.c.student_id == d["student_id"], episodes.c.ended_at.is_(None))
        )).all():
            await uow.session.execute(update(episodes).where(episodes.c.id == row.id)
                                      .values(ended_at=now, end_reason="not_attending"))
            if row.threshold_fired_at is not None:
                _emit_ended(uow, row, now, "not_attending")


# --- roll calls and leave ------------------------------------------------------------------

async def calendars_for(uow: UnitOfWork, settings: AttendanceSettings,
                        org_paths: Iterable[list[str]]) -> dict[tuple[str, ...], Calendar]:
    """The effective calendar of each org path (county default overlaid by the school's own), in
    one query for all of them."""
    paths = {tuple(p) for p in org_paths}
    codes = {c for p in paths for c in p}
    docs = dict((await uow.session.execute(
        select(calendars.c.school_code, calendars.c.body).where(calendars.c.school_code.in_(codes)))).all()) \
        if codes else {}
    return {p: layered([docs[c] for c in p if c in docs], timezone_name=settings.timezone,
                       am=settings.session_am_starts, pm=settings.session_pm_starts) for p in paths}


async def calendar_of(uow: UnitOfWork, settings: AttendanceSettings, org_path: list[str]) -> Calendar:
    return (await calendars_for(uow, settings, [org_path]))[tuple(org_path)]


async def _class_in_scope(uow: UnitOfWork, class_id: str, caller: Principal) -> Any:
    """A class is known through its students on the roster; outside the caller's scope it is not found."""
    row = (await uow.session.execute(
        select(roster.c.org_path, roster.c.school_code).where(roster.c.class_id == class_id).limit(1))).first()
    if row is None or not audit.sees(caller, row.org_path, class_id):
        raise NotFound(f"no class with id {class_id}")
    return row


def _under(code: str):
    """Roster rows at or below an org code (a school, or any region above it)."""
    return or_(roster.c.school_code == code, cast(roster.c.org_path, String).contains(f'"{code}"', autoescape=True))


async def _org_in_scope(uow: UnitOfWork, code: str, caller: Principal) -> list[str]:
    """The org path down to ``code`` (a school or a region above it), if attendance knows it and the
    caller sees it."""
    row = (await uow.session.execute(select(roster.c.org_path).where(_under(code)).limit(1))).first()
    path = list(row.org_path[: row.org_path.index(code) + 1]) if row is not None and code in row.org_path else None
    if path is None or not audit.sees_org(caller, path):
        raise NotFound(f"no school or region with code {code} known to attendance")
    return path


async def _student_in_scope(uow: UnitOfWork, student_id: str, caller: Principal) -> Any:
    row = (await uow.session.execute(select(roster).where(roster.c.student_id == student_id))).first()
    if row is None or not audit.sees(caller, row.org_path, row.class_id):
        raise NotFound(f"no student with id {student_id} on any roster")
    return row


async def record_roll_call(uow: UnitOfWork, settings: AttendanceSettings, cmd: RollCallIn,
                           caller: Principal) -> dict[str, Any]:
    stored = await store_roll_call(uow, settings, cmd, caller)
    await uow.commit()
    return stored


async def store_roll_call(uow: UnitOfWork, settings: AttendanceSettings, cmd: RollCallIn, caller: Principal, *,
                          client_id: str | None = None, fingerprint: str | None = None) -> dict[str, Any]:
    """A roll call for a class-session, replacing the one received before (the last received
    wins, whatever the devices' clocks say); the send it replaces is kept as a revision. Not committed."""
    ids = [m.student_id for m in cmd.marks]
    known = {
        r.student_id: r
        for r in (await uow.session.execute(
            select(roster.c.student_id, roster.c.class_id, roster.c.active, roster.c.school_code, roster.c.org_path,
                   roster.c.attending_since)
            .where(among(uow.session, roster.c.student_id, ids))
        )).all()
    }
    # A student of the class named in it tells where the class is, saving a query; when none is
    # (a wrong list), the class is looked up on its own.
    place = next((r for r in known.values() if r.class_id == cmd.class_id), None)
    if place is None or not audit.sees(caller, place.org_path, cmd.class_id):
        place = await _class_in_scope(uow, cmd.class_id, caller)
    if place.school_code != cmd.school_code:
        raise Invalid(f"class {cmd.class_id} belongs to school {place.school_code}, not {cmd.school_code}",
                      errors=[{"field": "school_code", "pointer": "/school_code", "message": "not the class's school"}])
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
    calendar = await calendar_of(uow, settings, place.org_path)
    at = calendar.session_at(cmd.date, cmd.session)
    roll_call = {"school_code": cmd.school_code, "class_id": cmd.class_id, "date": cmd.date, "session": cmd.session,
                 "session_at": at, "received_at": uow.clock.now(), "device_recorded_at": cmd.recorded_at,
                 "sender": caller.subject, "client_id": client_id, "fingerprint": fingerprint}
    # Most roll calls are new: try the insert first, and look for the one to replace only when the
    # (class, date, session) is taken.
    roll_call_id = (await uow.session.execute(
        insert_ignoring_conflicts(uow.session, roll_calls).values(**roll_call).returning(roll_calls.c.id)
    )).scalar_one_or_none()
    replaced = roll_call_id is None
    if replaced:
        before = (await uow.session.execute(
            select(roll_calls).where(roll_calls.c.class_id == cmd.class_id, roll_calls.c.date == cmd.date,
                                     roll_calls.c.session == cmd.session))).one()
        existing = before.id
        earlier = (await uow.session.execute(
            select(marks.c.student_id, marks.c.status).where(marks.c.roll_call_id == existing))).all()
        # Re-posting replaces the roll call: every student named before or now is recomputed.
        affected = set(ids) | {m.student_id for m in earlier}
        # The replaced send is kept, with who sent it and when (the last received wins).
        await uow.session.execute(insert(roll_call_revisions).values(
            client_id=before.client_id, class_id=before.class_id, date=before.date, session=before.session,
            sender=before.sender, device_recorded_at=before.device_recorded_at, received_at=before.received_at,
            fingerprint=before.fingerprint, replaced_at=roll_call["received_at"],
            marks=json.dumps([{"student_id": m.student_id, "status": m.status} for m in earlier])))
        await uow.session.execute(delete(marks).where(marks.c.roll_call_id == existing))
        await uow.session.execute(delete(roll_calls).where(roll_calls.c.id == existing))
        roll_call_id = (await uow.session.execute(
            insert(roll_calls).values(**roll_call).returning(roll_calls.c.id))).scalar_one()
    else:
        affected = await _changed_by(uow, cmd, at)
    # One statement for the whole class, not one per student.
    await insert_many(uow.session, marks, [{"roll_call_id": roll_call_id, "student_id": m.student_id, "at": at,
                                            "status": m.status} for m in cmd.marks])
    await sync_episodes(uow, settings, sorted(affected), calendar=calendar, places=known)
    # Every student named: a present mark can bring a student to the minimum number of sessions.
    await _flag_chronic(uow, settings, sorted(set(ids) | affected), calendar, cmd.date)
    return {"school_code": cmd.school_code, "class_id": cmd.class_id, "date": cmd.date, "session": cmd.session,
            "marks": len(cmd.marks), "replaced": replaced}


async def _changed_by(uow: UnitOfWork, cmd: RollCallIn, at: datetime) -> set[str]:
    """The students whose episodes a new roll call at ``at`` can change; most of a class is
    present with no episode, and recomputing them would only find what is stored.

    An absent mark can start or extend an episode. A present or late mark matters only inside an
    episode (open, or ended after ``at``: a roll call posted late splits it). A leave mark neither
    starts nor ends one (`rule.episodes`)."""
    absent = {m.student_id for m in cmd.marks if m.status == "absent"}
    seen = [m.student_id for m in cmd.marks if m.status in rule.SEEN]
    if not seen:
        return absent
    inside = (await uow.session.execute(
        select(episodes.c.student_id).where(
            among(uow.session, episodes.c.student_id, seen), LIVE, episodes.c.started_at < at,
            or_(episodes.c.ended_at.is_(None), episodes.c.ended_at > at)))).scalars()
    return absent | set(inside)


async def record_leave(uow: UnitOfWork, cmd: LeaveIn, caller: Principal) -> dict[str, Any]:
    """A leave request (a head teacher or the school office files it); it excuses nothing until approved."""
    await _student_in_scope(uow, cmd.student_id, caller)
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
        student = await _student_in_scope(uow, row.student_id, caller)
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


# --- calendars -----------------------------------------------------------------------------

async def put_calendar(uow: UnitOfWork, settings: AttendanceSettings, code: str, body: CalendarIn,
                       caller: Principal) -> dict[str, Any]:
    """Replace one org's calendar layer (a county's default or a school's own)."""
    path = await _org_in_scope(uow, code, caller)
    return await _store_layer(uow, settings, code, path, body.model_dump(mode="json", exclude_unset=True))


async def import_calendar_entries(uow: UnitOfWork, settings: AttendanceSettings, code: str,
                                  body: CalendarEntriesIn, caller: Principal) -> dict[str, Any]:
    """Merge dated entries (holidays, school days, make-up days) into an org's calendar layer; a
    date named again takes its new kind."""
    path = await _org_in_scope(uow, code, caller)
    doc = (await uow.session.execute(
        select(calendars.c.body).where(calendars.c.school_code == code))).scalar_one_or_none() or {}
    named = {e.date.isoformat(): e.kind for e in body.entries}
    doc = dict(doc)
    doc["holidays"] = sorted({d for d in doc.get("holidays", []) if d not in named}
                             | {d for d, k in named.items() if k == "holiday"})
    doc["make_up_days"] = sorted({d for d in doc.get("make_up_days", []) if d not in named}
                                 | {d for d, k in named.items() if k != "holiday"})
    return await _store_layer(uow, settings, code, path, doc)


async def _store_layer(uow: UnitOfWork, settings: AttendanceSettings, code: str, path: list[str],
                       doc: dict[str, Any]) -> dict[str, Any]:
    await uow.session.execute(delete(calendars).where(calendars.c.school_code == code))
    await uow.session.execute(insert(calendars).values(school_code=code, body=doc, updated_at=uow.clock.now()))
    # Every open episode below this org is due at another instant now.
    affected = (await uow.session.execute(
        select(episodes.c.student_id).join(roster, roster.c.student_id == episodes.c.student_id)
        .where(episodes.c.ended_at.is_(None), _under(code)).distinct())).scalars().all()
    await sync_episodes(uow, settings, sorted(affected))
    await uow.commit()
    return {"code": code, "school_code": code, "layer": doc,
            "effective": describe(await calendar_of(uow, settings, path)), "recomputed_students": len(affected)}


async def get_calendar(uow: UnitOfWork, settings: AttendanceSettings, code: str, caller: Principal) -> dict[str, Any]:
    path = await _org_in_scope(uow, code, caller)
    doc = (await uow.session.execute(
        select(calendars.c.body).where(calendars.c.school_code == code))).scalar_one_or_none()
    return {"code": code, "school_code": code, "layer": doc or {},
            "effective": describe(await calendar_of(uow, settings, path))}


def describe(cal: Calendar) -> dict[str, Any]:
    return {"timezone": cal.timezone, "weekdays": sorted(cal.weekdays),
            "terms": [{"name": t.name, "start": t.start.isoformat(), "end": t.end.isoformat()} for t in cal.terms],
            "holidays": sorted(d.isoformat() for d, k in cal.days.items() if k == "holiday"),
            "make_up_days": sorted(d.isoformat() for d, k in cal.days.items() if k == "school_day"),
            "sessions": {k: v.strftime("%H:%M") for k, v in cal.sessions.items()}}


async def _inputs(uow: UnitOfWork, settings: AttendanceSettings, student_ids: list[str], *,
                  with_marks: bool = True, calendar: Calendar | None = None, places: dict[str, Any] | None = None
                  ) -> tuple[dict[str, Any], dict[str, Calendar], dict[str, list], dict[str, list[rule.LeaveSpan]]]:
    """What the clock needs for these students, one query per table for all of them: roster rows,
    effective calendars, marks (since attending) and approved leave. A roll call has read its
    class's roster rows and calendar already and passes them (``places``, ``calendar``); they are
    used when they cover every student (a re-posted roll call also recomputes students it no
    longer names, who may have moved to another class or school since)."""
    if places is not None and calendar is not None and places.keys() >= set(student_ids):
        places = {sid: places[sid] for sid in student_ids}
        cal_by = {sid: calendar for sid in places}
    else:
        places = {r.student_id: r for r in (await uow.session.execute(
            select(roster).where(among(uow.session, roster.c.student_id, student_ids)))).all()}
        cals = await calendars_for(uow, settings, [r.org_path for r in places.values()])
        cal_by = {sid: cals[tuple(r.org_path)] for sid, r in places.items()}
    marks_by: dict[str, list[rule.Mark]] = {s: [] for s in student_ids}
    if with_marks:
        for sid, at, status in (await uow.session.execute(
            select(marks.c.student_id, marks.c.at, marks.c.status)
            .where(among(uow.session, marks.c.student_id, student_ids)))).all():
            since = places[sid].attending_since if sid in places else None
            if since is None or at >= since:
                marks_by[sid].append(rule.Mark(at, status))
    leave_by: dict[str, list[rule.LeaveSpan]] = {s: [] for s in student_ids}
    for sid, start, end in (await uow.session.execute(
        select(leaves.c.student_id, leaves.c.start, leaves.c.end)
        .where(among(uow.session, leaves.c.student_id, student_ids), leaves.c.status == LeaveStatus.approved.value)
    )).all():
        leave_by[sid].append(rule.LeaveSpan(start, end))
    return places, cal_by, marks_by, leave_by


async def sync_episodes(uow: UnitOfWork, settings: AttendanceSettings, student_ids: list[str], *,
                        calendar: Calendar | None = None, places: dict[str, Any] | None = None) -> None:
    """Recompute the students' episodes and due instants from all their marks, approved leave and
    calendar, and store the difference (`rule.reconcile` keeps identities across corrections).

    A fired episode the recomputation no longer supports (leave approved after the fact, a
    corrected roll call, a calendar change that moves its due instant past now or past the
    student's return) is *withdrawn*: closed, and announced with `student.returned`
    (`reason: withdrawn`) so the case hears of the false alarm; what is left of the streak is a
    new episode with its own clock. A fired episode ended by a present or late mark is announced
    with `reason: returned`."""
    if not student_ids:
        return
    now = uow.clock.now()
    places, cal_by, marks_by, leave_by = await _inputs(uow, settings, student_ids, calendar=calendar, places=places)
    stored_by: dict[str, list[Any]] = {s: [] for s in student_ids}
    for row in (await uow.session.execute(
        select(episodes).where(among(uow.session, episodes.c.student_id, student_ids), LIVE))).all():
        stored_by[row.student_id].append(row)

    # New and changed rows are written after the loop, a statement for each kind rather than one
    # per episode. Updates keep their order and go before inserts: every insert then meets its
    # student's rows in their final places (the live-start index allows one per start).
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for sid in student_ids:
        place = places.get(sid)
        if place is None or not place.active:
            continue  # off the roll: the registry event closed the episode; nothing is counted
        rows = {r.id: r for r in stored_by[sid]}
        plan = rule.reconcile([rule.Stored(r.id, r.started_at, r.last_absent_at, r.ended_at,
                                           r.threshold_fired_at is not None) for r in rows.values()],
                              rule.episodes(marks_by[sid], leave_by[sid]))
        # Rows no longer supported go first: a kept row may take over the start one of them had.
        for gone in plan.retire:
            row = rows[gone.id]
            if gone.fired:
                await _withdraw(uow, row, now)
            else:
                await uow.session.execute(delete(episodes).where(episodes.c.id == row.id))
        for keeper, ep in plan.keep:
            due = clock.due_at(ep.started_at, cal_by[sid], settings.absence_counting,
                               settings.absence_threshold_hours, leave_by[sid])
            values = {"started_at": ep.started_at, "last_absent_at": ep.absent_sessions[-1],
                      "absent_sessions": len(ep.absent_sessions), "ended_at": ep.ended_at, "due_at": due,
                      "end_reason": "returned" if ep.ended_at is not None else None}
            row = rows[keeper.id] if keeper else None
            if row is not None and keeper.fired and not rule.reached(ep, due, now):
                await _withdraw(uow, row, now)
                row = None
            if row is None:
                inserts.append({"id": str(uuid.uuid4()), "student_id": sid, **values})
                continue
            if any(getattr(row, k) != v for k, v in values.items()):  # most of a term's episodes are settled
                updates.append({"episode_id": row.id, **values})
            if keeper.fired and row.ended_at is None and ep.ended_at is not None:
                _emit_ended(uow, row, ep.ended_at, "returned")
    if updates:
        await uow.session.execute(update(episodes).where(episodes.c.id == bindparam("episode_id")), updates)
    await insert_many(uow.session, episodes, inserts)


async def _withdraw(uow: UnitOfWork, row: Any, now: datetime) -> None:
    """A fired episode the marks, leave or calendar no longer support: kept as history (the case it
    opened stays, people resolve it), closed, and announced once."""
    ended = row.ended_at or now
    await uow.session.execute(update(episodes).where(episodes.c.id == row.id)
                              .values(ended_at=ended, end_reason="withdrawn"))
    _emit_ended(uow, row, ended, "withdrawn")


def _emit_ended(uow: UnitOfWork, row: Any, at: datetime, reason: str) -> None:
    """`student.returned` for a fired episode that ended: seen again (`returned`), no longer
    supported (`withdrawn`), or taken off the roll by the registry (`not_attending`). The id is
    derived from the episode and the reason: each is announced once."""
    uow.emit(
        topic=TOPIC_ATTENDANCE, type=STUDENT_RETURNED, subject=row.student_id,
        event_id=stable_id("returned", row.id) if reason == "returned" else stable_id(reason, row.id),
        data={"student_id": row.student_id, "episode_id": row.id, "episode_started_at": row.started_at,
              "returned_at": at, "reason": reason},
    )


async def absence_of(uow: UnitOfWork, settings: AttendanceSettings, student_id: str,
                     caller: Principal) -> dict[str, Any]:
    await _student_in_scope(uow, student_id, caller)
    row = (await uow.session.execute(
        select(episodes).where(episodes.c.student_id == student_id, episodes.c.ended_at.is_(None))
        .order_by(episodes.c.started_at.desc()).limit(1)
    )).first()
    now = uow.clock.now()
    hours = 0.0
    if row is not None:
        _, cal_by, _, leave_by = await _inputs(uow, settings, [student_id], with_marks=False)
        hours = clock.counted_hours(row.started_at, now, cal_by[student_id], settings.absence_counting,
                                    leave_by[student_id])
    return {
        "student_id": student_id,
        "since": row.started_at if row else None,
        "hours": round(hours, 2),
        "absent_sessions": row.absent_sessions if row else 0,
        "threshold_hours": settings.absence_threshold_hours,
        "threshold_reached": bool(row) and row.due_at is not None and row.due_at <= now,
        "counting": settings.absence_counting,
        "episode_id": row.id if row else None,
        "last_absent_at": row.last_absent_at if row else None,
        "due_at": row.due_at if row else None,
        "threshold_fired_at": row.threshold_fired_at if row else None,
    }


# --- chronic absence -----------------------------------------------------------------------

def _term_counts(session, student_ids: list[str], calendar: Calendar, term):
    """Sessions and missed sessions per student in a term: one grouped query. It walks the
    (student, instant) index from the term's first local midnight to the one after its last day;
    a join on the roll calls' dates would make the planner choose between them, and a fresh or
    unanalysed table made PostgreSQL scan every mark of the term for each roll call."""
    return (
        select(marks.c.student_id, func.count().label("sessions"),
               func.sum(case((marks.c.status.in_(chronic.MISSED), 1), else_=0)).label("missed"))
        .where(among(session, marks.c.student_id, student_ids), marks.c.at >= calendar.local_midnight(term.start),
               marks.c.at < calendar.local_midnight(term.end + timedelta(days=1)))
        .group_by(marks.c.student_id)
    )


async def _flag_chronic(uow: UnitOfWork, settings: AttendanceSettings, student_ids: list[str],
                        calendar: Calendar, day: date) -> None:
    """Flag (once per student per term, by the flags' primary key) students whose missed share
    of the term holding ``day`` reached the threshold, and emit `chronic_absence.flagged` for the
    new flags only."""
    if not student_ids:
        return
    term = calendar.term_for_counting(day)
    counts = (await uow.session.execute(_term_counts(uow.session, student_ids, calendar, term))).all()
    crossed = {c.student_id: chronic.Share(c.sessions, int(c.missed or 0)) for c in counts
               if chronic.Share(c.sessions, int(c.missed or 0)).flagged(settings.chronic_absence_threshold,
                                                                         settings.chronic_absence_min_sessions)}
    if not crossed:
        return
    now = uow.clock.now()
    new = (await uow.session.execute(
        insert_ignoring_conflicts(uow.session, chronic_flags)
        .values([{"student_id": sid, "term": term.name, "sessions": sh.sessions, "missed": sh.missed,
                  "flagged_at": now} for sid, sh in crossed.items()])
        .returning(chronic_flags.c.student_id)
    )).scalars().all()
    places = {r.student_id: r for r in (await uow.session.execute(
        select(roster).where(roster.c.student_id.in_(new)))).all()} if new else {}
    for sid in new:
        share, place = crossed[sid], places[sid]
        uow.emit(
            topic=TOPIC_ATTENDANCE, type=CHRONIC_ABSENCE_FLAGGED, subject=sid,
            event_id=stable_id("chronic", sid, term.name),
            data={"student_id": sid, "term": term.name, "term_start": term.start, "term_end": term.end,
                  "sessions": share.sessions, "missed": share.missed, "rate": round(share.rate, 4),
                  "threshold": settings.chronic_absence_threshold, "school_code": place.school_code,
                  "class_id": place.class_id, "grade": place.grade, "org_path": place.org_path},
        )


# --- the detector --------------------------------------------------------------------------

async def detect_overdue(uow: UnitOfWork, settings: AttendanceSettings) -> int:
    """One set-based pass: claim every open, unfired episode whose due instant has passed (by
    the grace) and emit
    `threshold_reached` for each, in one transaction.

    Exactly once with any number of detectors: the UPDATE only matches rows whose
    threshold_fired_at is still NULL, so a concurrent pass (PostgreSQL re-checks the WHERE after
    the row lock; SQLite serialises writers) claims nothing twice. The event id is derived from
    the episode, so even a replayed outbox row is recognised downstream."""
    now = uow.clock.now()
    # due_at is the threshold instant, computed from the calendar and leave when the episode was
    # last recomputed; the grace leaves time for that session's roll call to be posted.
    cutoff = now - timedelta(minutes=settings.absence_roll_call_grace_minutes)
    # EXISTS, not IN (SELECT all attending students): both planners then walk the partial due_at
    # index and look each candidate up on the roster, instead of scanning 100,000 students.
    attending = select(roster.c.student_id).where(roster.c.student_id == episodes.c.student_id,
                                                  roster.c.active.is_(True)).exists()
    overdue = (episodes.c.ended_at.is_(None), episodes.c.threshold_fired_at.is_(None),
               episodes.c.due_at <= cutoff, attending)
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
    where, cal_by, _, leave_by = await _inputs(uow, settings, [c.student_id for c in claimed], with_marks=False)
    for ep in claimed:
        r = where[ep.student_id]
        started = ep.started_at
        hours = clock.counted_hours(started, now, cal_by[ep.student_id], settings.absence_counting,
                                    leave_by[ep.student_id])
        uow.emit(
            topic=TOPIC_ATTENDANCE, type=THRESHOLD_REACHED, subject=ep.student_id,
            # The episode row's id: the same episode never gets a second id, whatever its start.
            event_id=stable_id("threshold", ep.id),
            data={
                "student_id": ep.student_id, "episode_id": ep.id, "episode_started_at": started,
                "last_absent_at": ep.last_absent_at, "absent_sessions": ep.absent_sessions,
                "hours": round(hours, 2),
                "threshold_hours": settings.absence_threshold_hours, "counting": settings.absence_counting,
                "school_code": r.school_code, "class_id": r.class_id, "grade": r.grade, "org_path": r.org_path,
                "org_chain": r.org_chain,
            },
        )
    await uow.commit()
    return len(claimed)
