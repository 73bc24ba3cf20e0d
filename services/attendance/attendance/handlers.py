"""Attendance use cases: roster upkeep from registry events, roll calls, leave, the detector."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, NamedTuple
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import String, bindparam, case, cast, delete, func, insert, or_, select, update

from shared import audit
from shared.auth import Principal, Role
from shared.envelope import TOPIC_ATTENDANCE, Event, stable_id
from shared.errors import Conflict, Invalid, NotFound, Problem
from shared.sql import among, insert_ignoring_conflicts, insert_many, upsert
from shared.uow import UnitOfWork

from attendance.adapters.tables import (
    LIVE, calendars, chronic_flags, episodes, leaves, marks, placements, roll_call_revisions, roll_calls, roster,
)
from attendance import completeness
from attendance.domain import chronic, clock, national
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
SINCE_EVER = date(1900, 1, 1)


# --- registry events -----------------------------------------------------------------------

async def on_student_enrolled(uow: UnitOfWork, event: Event, *, settings: AttendanceSettings | None = None) -> None:
    d = event.data
    status = d.get("status", "enrolled")
    values = {
        "school_code": d["school_code"], "class_id": d["class_id"], "grade": d["grade"],
        "org_path": d["org_path"], "org_chain": d.get("org_chain", []), "active": status in ATTENDING,
        "status": status, "updated_at": uow.clock.now(),
    }
    await upsert(uow.session, roster, {"student_id": d["student_id"]}, values)
    # Wired with the settings (bootstrap); a caller without them gets the service's default zone.
    zone = settings.timezone if settings is not None else AttendanceSettings.model_fields["timezone"].default
    await completeness.school_heard_of(uow, zone, d["school_code"], d["org_path"], d.get("org_chain", []))
    # The first placement stands for every date before it, so its date matters only to a record
    # enrolled again; an event without `enrolled_on` (an older producer's) is placed since ever.
    await _place(uow, d["student_id"], _date_of(d.get("enrolled_on"), SINCE_EVER),
                 school_code=d["school_code"], class_id=d["class_id"], org_path=d["org_path"], status=status)


async def on_class_promoted(uow: UnitOfWork, event: Event) -> None:
    """A class moved up a grade at year end: the roster's grade follows (threshold events carry it)."""
    d = event.data
    await uow.session.execute(update(roster).where(roster.c.class_id == d["class_id"]).values(
        grade=d["grade"], updated_at=uow.clock.now()))


async def on_student_status_changed(uow: UnitOfWork, event: Event, *, settings: AttendanceSettings) -> None:
    """The change takes effect as of its ``effective_on`` (the date on the paperwork), not when
    the event is processed: the child's episodes are recomputed with the new placement dated,
    so an episode ends on the day the child left the roll, and one observed before that day
    still fires (the detector claims ended episodes too)."""
    d = event.data
    active = d["status"] in ATTENDING
    now = uow.clock.now()
    effective_on = _date_of(d.get("effective_on"), event.time.date())
    before = (await uow.session.execute(
        select(roster.c.active).where(roster.c.student_id == d["student_id"]))).scalar_one_or_none()
    values: dict[str, Any] = {"status": d["status"], "active": active, "updated_at": now}
    for field in ("school_code", "class_id", "grade", "org_path", "org_chain"):
        if field in d:
            values[field] = d[field]
    if active and before is False:
        # Kept for readers of the roster; episodes take the dated placements below. The date
        # begins first at UTC+14, so no session of it is cut off.
        values["attending_since"] = datetime.combine(effective_on, time.min, tzinfo=timezone(timedelta(hours=14)))
    await uow.session.execute(update(roster).where(roster.c.student_id == d["student_id"]).values(**values))
    now_placed = (await uow.session.execute(
        select(roster.c.school_code, roster.c.class_id, roster.c.org_path)
        .where(roster.c.student_id == d["student_id"]))).first()
    if now_placed is None:
        return  # a child this service never heard enrolled: nothing to check marks against
    await _place(uow, d["student_id"], effective_on, school_code=now_placed.school_code,
                 class_id=now_placed.class_id, org_path=now_placed.org_path, status=d["status"])
    await sync_episodes(uow, settings, [d["student_id"]])


def _date_of(value: Any, default: date) -> date:
    """A date field of a registry event, or ``default`` for an event without it (an older
    producer's): a status change then takes effect on the day it was sent."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10]) if value else default


async def _place(uow: UnitOfWork, student_id: str, effective_on: date, *, school_code: str, class_id: str,
                 org_path: list[str], status: str) -> None:
    """Where the child is from ``effective_on`` on; a second change on the same date replaces the
    first (the registry orders a child's events)."""
    await upsert(uow.session, placements, {"student_id": student_id, "effective_on": effective_on},
                 {"school_code": school_code, "class_id": class_id, "org_path": org_path, "status": status,
                  "active": status in ATTENDING})


async def _placements_of(uow: UnitOfWork, student_ids: list[str]) -> dict[str, list[Any]]:
    """Each child's dated placements, oldest first, in one query."""
    found: dict[str, list[Any]] = {}
    for row in (await uow.session.execute(
            select(placements).where(among(uow.session, placements.c.student_id, student_ids))
            .order_by(placements.c.student_id, placements.c.effective_on))).all():
        found.setdefault(row.student_id, []).append(row)
    return found


def _placement_on(rows: list[Any], day: date) -> Any:
    """The placement in force on ``day``: the newest effective by then, else the first one."""
    return next((r for r in reversed(rows) if r.effective_on <= day), rows[0])


def _attending(rows: list[Any], calendar: Calendar) -> tuple[rule.Attending, ...]:
    """The spans a child was on the roll, from the placements' dates (local midnight); a change
    that keeps the child attending (a new class) does not cut a span."""
    if not rows:
        return rule.ALWAYS  # loaded without placements (a bulk load): attending all along
    spans: list[rule.Attending] = []
    for i, row in enumerate(rows):
        start = None if i == 0 else calendar.local_midnight(row.effective_on)
        end = calendar.local_midnight(rows[i + 1].effective_on) if i + 1 < len(rows) else None
        if not row.active:
            continue
        if spans and spans[-1].end == start:
            spans[-1] = rule.Attending(spans[-1].start, end)
        else:
            spans.append(rule.Attending(start, end))
    return tuple(spans)


async def on_student_merged(uow: UnitOfWork, event: Event) -> None:
    """Two records of one child made one: the merged id's marks, leave, episodes and chronic flags
    become the kept id's. A mark or flag the kept record already has for the same roll call or
    term wins. The merged record's open episodes end (it is not attending: the kept record says
    where the child is), announced once if they had fired, and its roster row goes. The kept
    record's episodes are recomputed from all its marks at its next roll call."""
    d = event.data
    kept, merged = d["kept_id"], d["merged_id"]
    now = uow.clock.now()
    fired = (await uow.session.execute(
        update(episodes).where(episodes.c.student_id == merged, episodes.c.ended_at.is_(None))
        .values(ended_at=now, end_reason="not_attending")
        .returning(episodes.c.id, episodes.c.started_at, episodes.c.threshold_fired_at))).all()
    for table, key in ((marks, marks.c.roll_call_id), (chronic_flags, chronic_flags.c.term)):
        theirs = table.alias("kept_rows")
        clash = select(theirs.c.student_id).where(theirs.c.student_id == kept, theirs.c[key.name] == key).exists()
        await uow.session.execute(update(table).where(table.c.student_id == merged, ~clash).values(student_id=kept))
        await uow.session.execute(delete(table).where(table.c.student_id == merged))
    await uow.session.execute(update(leaves).where(leaves.c.student_id == merged).values(student_id=kept))
    live = episodes.alias("kept_live")
    clash = select(live.c.id).where(live.c.student_id == kept, live.c.started_at == episodes.c.started_at,
                                    live.c.end_reason.is_(None) | (live.c.end_reason == "returned")).exists()
    await uow.session.execute(update(episodes).where(episodes.c.student_id == merged, ~clash).values(student_id=kept))
    await uow.session.execute(delete(roster).where(roster.c.student_id == merged))
    # The dated placements are the child's history of where they were: the merged record's
    # dates before the kept record's first one say where the marks just moved were taken, so
    # they join the kept record's history; later ones describe a record that no longer exists.
    first_kept = select(func.min(placements.c.effective_on)).where(placements.c.student_id == kept).scalar_subquery()
    await uow.session.execute(update(placements).where(
        placements.c.student_id == merged,
        (placements.c.effective_on < first_kept) | first_kept.is_(None)).values(student_id=kept))
    await uow.session.execute(delete(placements).where(placements.c.student_id == merged))
    for row in fired:
        if row.threshold_fired_at is not None:
            _emit_ended(uow, _Ended(row.id, kept, row.started_at), now, "not_attending")


class _Ended:
    """The fields ``_emit_ended`` reads, for an episode now under the kept id."""

    def __init__(self, id: str, student_id: str, started_at: datetime) -> None:
        self.id, self.student_id, self.started_at = id, student_id, started_at


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
    base = national.DAYS if settings.national_calendar == "cn" else national.NONE
    return {p: layered([docs[c] for c in p if c in docs], timezone_name=settings.timezone,
                       am=settings.session_am_starts, pm=settings.session_pm_starts, national=base) for p in paths}


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
    # Checked against the class and status on the roll call's own date: a register typed in late
    # still names the child who has since left the class or the roll.
    dated = await _placements_of(uow, ids)
    problems = []
    for i, m in enumerate(cmd.marks):
        r = known.get(m.student_id)
        then = _placement_on(dated[m.student_id], cmd.date) if m.student_id in dated else r
        reason = ("unknown student" if r is None else
                  f"not in this class on {cmd.date.isoformat()}" if then.class_id != cmd.class_id else
                  f"not attending (status) on {cmd.date.isoformat()}" if not then.active else None)
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
    await completeness.roll_call_stored(
        uow, settings, calendar, roll_call_id=roll_call_id, school_code=cmd.school_code, org_path=place.org_path,
        class_id=cmd.class_id,
        day=cmd.date, session=cmd.session, at=at, statuses=[m.status for m in cmd.marks], replaced=replaced)
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


async def record_leave(uow: UnitOfWork, settings: AttendanceSettings, cmd: LeaveIn,
                       caller: Principal) -> dict[str, Any]:
    """A leave request (a head teacher or the school office files it); it excuses nothing until
    approved. A sick note handed in late is checked against where the child was on its first day:
    the head teacher of the class the child has since left may still file it."""
    day = cmd.start.astimezone(ZoneInfo(settings.timezone)).date()
    student = (await uow.session.execute(select(roster).where(roster.c.student_id == cmd.student_id))).first()
    dated = (await _placements_of(uow, [cmd.student_id])).get(cmd.student_id)
    then = _placement_on(dated, day) if dated else student
    if student is None or not (audit.sees(caller, then.org_path, then.class_id)
                               or audit.sees(caller, student.org_path, student.class_id)):
        raise NotFound(f"no student with id {cmd.student_id} on any roster")
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
    # Every episode below this org may be due at another instant now, an ended one too: its
    # observation may appear (it is due earlier) or go (a holiday moves it past the return).
    affected = (await uow.session.execute(
        select(episodes.c.student_id).join(roster, roster.c.student_id == episodes.c.student_id)
        .where(LIVE, _under(code)).distinct())).scalars().all()
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
            "sessions": {k: v.strftime("%H:%M") for k, v in cal.sessions.items()},
            "roll_calls": _roll_calls_expected(cal), "national": _national(cal)}


def _national(cal: Calendar) -> dict[str, Any]:
    """The national layer as it applies inside the stored terms, and until when it is known:
    a term reaching past that date gets a warning (weekdays are the only rule there) until the
    library is updated or the county enters the year's days itself."""
    if not cal.national:
        return {"source": None, "known_until": None, "holidays": [], "make_up_days": [], "warnings": []}
    in_terms = sorted(d for d in cal.national if cal.term_of(d) is not None)
    past = [t for t in cal.terms if t.end > national.KNOWN_UNTIL]
    return {"source": national.SOURCE, "known_until": national.KNOWN_UNTIL.isoformat(),
            "holidays": [d.isoformat() for d in in_terms if cal.national[d] == "holiday"],
            "make_up_days": [d.isoformat() for d in in_terms if cal.national[d] == "school_day"],
            "warnings": [f"national holidays and make-up days are known only until {national.KNOWN_UNTIL.isoformat()}; "
                         f"term {t.name} runs to {t.end.isoformat()}: enter that year's days in the county calendar"
                         for t in past]}


def _roll_calls_expected(cal: Calendar) -> dict[str, Any]:
    """Whether this calendar expects roll calls at all, and from when: without a stored term
    nothing is expected (a vacation would otherwise be a flood of missing roll calls)."""
    return {"expected": bool(cal.terms),
            "reason": None if cal.terms else "no term stored: no roll call is expected until a term is",
            "from": cal.roll_calls_from.isoformat() if cal.roll_calls_from else None,
            "from_default": "the school's first roster day", "sync_interval_days": cal.sync_interval_days}


class Inputs(NamedTuple):
    """What the clock needs for a set of students, keyed by student id."""
    places: dict[str, Any]  # roster rows
    calendars: dict[str, Calendar]
    marks: dict[str, list[rule.Mark]]
    leaves: dict[str, list[rule.LeaveSpan]]  # approved
    attending: dict[str, tuple[rule.Attending, ...]]


async def _inputs(uow: UnitOfWork, settings: AttendanceSettings, student_ids: list[str], *,
                  with_marks: bool = True, calendar: Calendar | None = None, places: dict[str, Any] | None = None
                  ) -> Inputs:
    """What the clock needs for these students, one query per table for all of them: roster rows,
    effective calendars, dated placements, marks and approved leave. A roll call has read its
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
    dated = await _placements_of(uow, student_ids)
    attending = {sid: _attending(dated.get(sid, []), cal_by[sid]) for sid in places}
    marks_by: dict[str, list[rule.Mark]] = {s: [] for s in student_ids}
    if with_marks:
        for sid, at, status in (await uow.session.execute(
            select(marks.c.student_id, marks.c.at, marks.c.status)
            .where(among(uow.session, marks.c.student_id, student_ids)))).all():
            marks_by[sid].append(rule.Mark(at, status))
    leave_by: dict[str, list[rule.LeaveSpan]] = {s: [] for s in student_ids}
    for sid, start, end in (await uow.session.execute(
        select(leaves.c.student_id, leaves.c.start, leaves.c.end)
        .where(among(uow.session, leaves.c.student_id, student_ids), leaves.c.status == LeaveStatus.approved.value)
    )).all():
        leave_by[sid].append(rule.LeaveSpan(start, end))
    return Inputs(places, cal_by, marks_by, leave_by, attending)


async def sync_episodes(uow: UnitOfWork, settings: AttendanceSettings, student_ids: list[str], *,
                        calendar: Calendar | None = None, places: dict[str, Any] | None = None) -> None:
    """Recompute the students' episodes, due instants and observations from all their marks,
    approved leave, dated placements and calendar, and store the difference (`rule.reconcile`
    keeps identities across corrections).

    A fired episode the recomputation no longer supports — no stored mark shows the child away
    at or after its due instant any more (leave approved after the fact, a corrected roll call, a
    calendar change, a present mark that arrived last) — is *withdrawn*: closed, and announced
    with `student.returned` (`reason: withdrawn`) so the case hears of the false alarm; what is
    left of the streak is a new episode with its own clock. A fired episode that ends is announced
    with its reason: `returned` (a present or late mark) or `not_attending` (off the roll from
    the registry's effective date)."""
    if not student_ids:
        return
    now = uow.clock.now()
    got = await _inputs(uow, settings, student_ids, calendar=calendar, places=places)
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
        if sid not in got.places:
            continue  # never enrolled here: nothing to count against
        rows = {r.id: r for r in stored_by[sid]}
        cal, student_marks, excused = got.calendars[sid], got.marks[sid], got.leaves[sid]
        plan = rule.reconcile([rule.Stored(r.id, r.started_at, r.last_absent_at, r.ended_at,
                                           r.threshold_fired_at is not None) for r in rows.values()],
                              rule.episodes(student_marks, excused, got.attending[sid]))
        # Rows no longer supported go first: a kept row may take over the start one of them had.
        for gone in plan.retire:
            row = rows[gone.id]
            if gone.fired:
                await _withdraw(uow, row, now)
            else:
                await uow.session.execute(delete(episodes).where(episodes.c.id == row.id))
        for keeper, ep in plan.keep:
            due = clock.due_at(ep.started_at, cal, settings.absence_counting, settings.absence_threshold_hours,
                               excused)
            seen = rule.observed_at(ep, student_marks, excused, due)
            values = {"started_at": ep.started_at, "last_absent_at": ep.absent_sessions[-1],
                      "absent_sessions": len(ep.absent_sessions), "ended_at": ep.ended_at, "due_at": due,
                      "end_reason": ep.end_reason, "observed_at": seen}
            row = rows[keeper.id] if keeper else None
            if row is not None and keeper.fired and seen is None:
                await _withdraw(uow, row, now)
                row = None
            if row is None:
                inserts.append({"id": str(uuid.uuid4()), "student_id": sid, **values})
                continue
            if any(getattr(row, k) != v for k, v in values.items()):  # most of a term's episodes are settled
                updates.append({"episode_id": row.id, **values})
            if keeper.fired and row.ended_at is None and ep.ended_at is not None:
                _emit_ended(uow, row, ep.ended_at, ep.end_reason or "returned")
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
    unrecorded = 0
    if row is not None:
        got = await _inputs(uow, settings, [student_id], with_marks=False)
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
    """One set-based pass: claim every observed, unfired episode — open, or ended already (the
    roll calls were typed in after the child came back) — and emit `threshold_reached` for
    each, in one transaction. An episode that had ended when claimed is `detected_late`, and
    its end is announced with it (`student.returned`), so the case opens knowing the child is back.

    Exactly once with any number of detectors: the UPDATE only matches rows whose
    threshold_fired_at is still NULL, so a concurrent pass (PostgreSQL re-checks the WHERE after
    the row lock; SQLite serialises writers) claims nothing twice. The event id is derived from
    the episode, so even a replayed outbox row is recognised downstream."""
    now = uow.clock.now()
    # observed_at is the session whose mark showed the child still away at or after the due
    # instant; the window leaves that roll call time to be corrected before anyone is told.
    cutoff = now - timedelta(minutes=settings.absence_roll_call_grace_minutes)
    # EXISTS, not IN (SELECT all students): both planners then walk the partial observed_at
    # index and look each candidate up on the roster, instead of scanning 100,000 students.
    known = select(roster.c.student_id).where(roster.c.student_id == episodes.c.student_id).exists()
    claimable = (episodes.c.observed_at.is_not(None), episodes.c.threshold_fired_at.is_(None),
                 episodes.c.observed_at <= cutoff, LIVE, known)
    # Skip rows a roll call is changing right now (the next pass gets them): a plain UPDATE
    # would lock the rows in scan order against the roll call's student order and deadlock
    # (seen under a burst of roll calls on PostgreSQL). SQLite ignores the clause; it has one writer.
    free = select(episodes.c.id).where(*claimable).with_for_update(skip_locked=True)
    claimed = (await uow.session.execute(
        update(episodes)
        .where(episodes.c.id.in_(free.scalar_subquery()), *claimable)
        .values(threshold_fired_at=now, detected_late=episodes.c.ended_at.is_not(None))
        .returning(episodes.c.id, episodes.c.student_id, episodes.c.started_at, episodes.c.last_absent_at,
                   episodes.c.absent_sessions, episodes.c.due_at, episodes.c.observed_at, episodes.c.ended_at,
                   episodes.c.end_reason)
    )).all()
    if not claimed:
        await uow.rollback()
        return 0
    got = await _inputs(uow, settings, [c.student_id for c in claimed], with_marks=False)
    for ep in claimed:
        r = got.places[ep.student_id]
        late = ep.ended_at is not None
        # Counted until now, or until the child came back or left the roll.
        hours = clock.counted_hours(ep.started_at, min(now, ep.ended_at) if late else now, got.calendars[ep.student_id],
                                    settings.absence_counting, got.leaves[ep.student_id])
        uow.emit(
            topic=TOPIC_ATTENDANCE, type=THRESHOLD_REACHED, subject=ep.student_id,
            # The episode row's id: the same episode never gets a second id, whatever its start.
            event_id=stable_id("threshold", ep.id),
            data={
                "student_id": ep.student_id, "episode_id": ep.id, "episode_started_at": ep.started_at,
                "last_absent_at": ep.last_absent_at, "absent_sessions": ep.absent_sessions,
                "hours": round(hours, 2),
                "threshold_hours": settings.absence_threshold_hours, "counting": settings.absence_counting,
                "due_at": ep.due_at, "observed_at": ep.observed_at, "detected_late": late,
                "ended_at": ep.ended_at, "end_reason": ep.end_reason,
                "school_code": r.school_code, "class_id": r.class_id, "grade": r.grade, "org_path": r.org_path,
                "org_chain": r.org_chain,
            },
        )
        if late:
            # Same key, emitted after it: every fired episode that ends is announced once.
            _emit_ended(uow, ep, ep.ended_at, ep.end_reason or "returned")
    await uow.commit()
    return len(claimed)
