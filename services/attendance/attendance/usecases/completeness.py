"""Roll-call completeness (动态监测): every stored roll call announced, missing class-sessions
found by a sweep and announced once, filled-late ones once, runs of missed days escalated once to
the township (the missing list is a read: queries/completeness.py). Seed 001: "各班学习委员每天都要向学校汇报人员情况" and
"辍学上报不过夜" — a class that reports nothing is itself the alarm.

None of this touches episodes: a roll call never taken says nothing about any child.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update

from attendance.adapters.inputs import calendars_for
from attendance.adapters.tables import (
    roll_call_escalations,
    roll_call_gaps,
    roll_calls,
    roster,
    school_rosters,
)
from attendance.domain import roll_call_gaps as gaps
from attendance.domain.calendar import Calendar
from attendance.settings import AttendanceSettings
from shared.envelope import stable_id
from shared.events.attendance import RollCallFilledLate, RollCallMissing, RollCallMissingEscalated, RollCallRecorded
from shared.orgs import township_level
from shared.sql import insert_ignoring_conflicts
from shared.uow import UnitOfWork

MARK_STATUSES = ("present", "late", "absent", "leave")


def fill_gap(class_id: str, day: str, session: str, filled_at: str) -> Any:
    """``UPDATE`` of a class-session's gap not yet filled, returning it, with the parameters named
    (apart from the columns, which an UPDATE reserves for its SET clause)."""
    return (update(roll_call_gaps)
            .where(roll_call_gaps.c.class_id == bindparam(class_id), roll_call_gaps.c.date == bindparam(day),
                   roll_call_gaps.c.session == bindparam(session), roll_call_gaps.c.filled_at.is_(None))
            .values(filled_at=bindparam(filled_at))
            .returning(roll_call_gaps.c.missing_since, roll_call_gaps.c.org_path))


# Run for every stored roll call: built once (the same on every dialect).
_FILL_GAP = fill_gap("gap_class", "gap_day", "gap_session", "gap_filled_at")


class FilledGap(NamedTuple):
    """A gap the roll call's own statement filled (roll_calls.py on PostgreSQL), and when."""
    missing_since: datetime
    org_path: list[str]
    filled_at: datetime


NOT_CHECKED: Any = object()  # `roll_call_stored` fills the gap itself


def _due(settings: AttendanceSettings) -> timedelta:
    return timedelta(minutes=settings.roll_call_due_minutes)


def _today(uow: UnitOfWork, settings: AttendanceSettings) -> date:
    return uow.clock.now().astimezone(ZoneInfo(settings.timezone)).date()


async def school_heard_of(uow: UnitOfWork, timezone_name: str, school_code: str, org_path: list[str],
                          org_chain: list[Any]) -> None:
    """The first pupil of a school on the roster: its first roster day is today (kept once)."""
    today = uow.clock.now().astimezone(ZoneInfo(timezone_name)).date()
    await uow.session.execute(insert_ignoring_conflicts(uow.session, school_rosters).values(
        school_code=school_code, org_path=org_path, org_chain=org_chain or [],
        first_roster_day=today))


async def roll_call_stored(uow: UnitOfWork, settings: AttendanceSettings, calendar: Calendar, *, roll_call_id: int,
                           school_code: str, org_path: list[str], class_id: str, day: date, session: str, at: datetime,
                           statuses: list[str], replaced: bool, filled: Any = NOT_CHECKED) -> None:
    """Announce a stored roll call (`roll_call.recorded`, reporting counts from it), and, when it
    fills a class-session the sweep had found missing, `roll_call.filled_late` once: the UPDATE
    matches only a gap not yet filled, so a re-post or a second replica announces nothing. A
    caller whose own statement ran that UPDATE passes what it returned (``filled``: the gap, or
    None)."""
    now = uow.clock.now()
    deadline = gaps.missing_since(calendar, at, _due(settings))
    counts = {s: statuses.count(s) for s in MARK_STATUSES}
    # Every stored roll call is a fact of its own (a re-post replaces the marks, and reporting
    # keeps the last per class-session), so its id is fresh; the outbox row keeps it on replay.
    uow.emit(RollCallRecorded(class_id=class_id, school_code=school_code, org_path=org_path, date=day,
                              session=session, session_at=at, roll_call_id=roll_call_id, received_at=now,
                              on_time=now <= deadline, replaced=replaced, expected=gaps.expects(calendar, day),
                              counts=counts, marks=len(statuses)),
             subject=class_id)
    if filled is NOT_CHECKED:
        row = (await uow.session.execute(_FILL_GAP, {"gap_class": class_id, "gap_day": day, "gap_session": session,
                                                      "gap_filled_at": now})).first()
        filled = FilledGap(row.missing_since, row.org_path, now) if row is not None else None
    if filled is not None:
        uow.emit(RollCallFilledLate(class_id=class_id, school_code=school_code, org_path=filled.org_path,
                                    date=day, session=session, session_at=at,
                                    missing_since=filled.missing_since, filled_at=filled.filled_at),
                 subject=class_id, event_id=stable_id("roll_call_filled_late", class_id, day.isoformat(), session))


@dataclass(frozen=True)
class Swept:
    missing: int
    escalated: int


async def sweep(uow: UnitOfWork, settings: AttendanceSettings) -> Swept:
    """One pass over every school: store and announce the class-sessions that became missing,
    and escalate the classes that missed whole days in a row.

    A handful of queries whatever the size: the schools, their calendars, the classes on the
    roll, the roll calls and gaps already stored in the window; the new gaps go in one INSERT ...
    ON CONFLICT DO NOTHING RETURNING, so with any number of replicas each gap is inserted, and
    announced, by exactly one pass (the same for escalations)."""
    now = uow.clock.now()
    today = _today(uow, settings)
    schools = (await uow.session.execute(select(school_rosters))).all()
    if not schools:
        return Swept(0, 0)
    cals = await calendars_for(uow, settings, [s.org_path for s in schools])
    classes: dict[str, list[str]] = {}
    for school_code, class_id in (await uow.session.execute(
            select(roster.c.school_code, roster.c.class_id).where(roster.c.active).distinct())).all():
        classes.setdefault(school_code, []).append(class_id)
    expected: dict[str, list[gaps.Session]] = {}
    missing_now: dict[str, list[gaps.Session]] = {}
    earliest = today
    for s in schools:
        cal = cals[tuple(s.org_path)]
        lookback = today - timedelta(days=settings.roll_call_lookback_days + cal.sync_interval_days)
        start = max(gaps.first_expected_day(cal, s.first_roster_day), lookback)
        expected[s.school_code] = gaps.expected_sessions(cal, start, today)
        missing_now[s.school_code] = gaps.missing_by(cal, start, now, _due(settings))
        earliest = min(earliest, start)
    taken = set((await uow.session.execute(
        select(roll_calls.c.class_id, roll_calls.c.date, roll_calls.c.session)
        .where(roll_calls.c.date >= earliest))).all())
    stored = {(g.class_id, g.date, g.session): g.filled_at for g in (await uow.session.execute(
        select(roll_call_gaps.c.class_id, roll_call_gaps.c.date, roll_call_gaps.c.session, roll_call_gaps.c.filled_at)
        .where(roll_call_gaps.c.date >= earliest))).all()}
    new = []
    by_school = {s.school_code: s for s in schools}
    for code, sessions in missing_now.items():
        cal = cals[tuple(by_school[code].org_path)]
        for class_id in classes.get(code, ()):
            for sess in sessions:
                key = (class_id, sess.day, sess.session)
                if key not in taken and key not in stored:
                    new.append({"class_id": class_id, "date": sess.day, "session": sess.session, "school_code": code,
                                "org_path": by_school[code].org_path, "session_at": sess.starts_at,
                                "missing_since": gaps.missing_since(cal, sess.starts_at, _due(settings)),
                                "detected_at": now})
    inserted = []
    if new:
        inserted = (await uow.session.execute(
            insert_ignoring_conflicts(uow.session, roll_call_gaps).values(new)
            .returning(roll_call_gaps.c.class_id, roll_call_gaps.c.date, roll_call_gaps.c.session))).all()
    rows = {(r["class_id"], r["date"], r["session"]): r for r in new}
    for key in inserted:
        r = rows[tuple(key)]
        uow.emit(RollCallMissing(class_id=r["class_id"], school_code=r["school_code"], org_path=r["org_path"],
                                 date=r["date"], session=r["session"], session_at=r["session_at"],
                                 missing_since=r["missing_since"]),
                 subject=r["class_id"],
                 event_id=stable_id("roll_call_missing", r["class_id"], r["date"].isoformat(), r["session"]))
        stored[tuple(key)] = None
    escalated = await _escalate(uow, settings, schools, classes, expected, stored, taken)
    await uow.commit()
    return Swept(len(inserted), escalated)


async def _escalate(uow: UnitOfWork, settings: AttendanceSettings, schools, classes, expected, stored, taken) -> int:
    """Escalate once each run of `roll_call_missing_alert_days` consecutive school days a class
    missed entirely (still unfilled), to the school's township (its county-level area when it
    has none: a school run by a county has no township)."""
    now = uow.clock.now()
    open_gaps = {k for k, filled in stored.items() if filled is None and k not in taken}
    if not open_gaps:
        return 0
    # A run already escalated stays escalated: a session of it filled late later splits it, and
    # what remains is not news. Only a run starting after a class's last escalation is.
    last = {c: settings_date(at, settings) for c, at in (await uow.session.execute(
        select(roll_call_escalations.c.class_id, func.max(roll_call_escalations.c.escalated_at))
        .group_by(roll_call_escalations.c.class_id))).all()}
    rows = []
    for s in schools:
        for class_id in classes.get(s.school_code, ()):
            mine = [(d, sess) for (c, d, sess) in open_gaps if c == class_id]
            if not mine:
                continue
            for run_start in gaps.missed_runs(expected[s.school_code], mine, settings.roll_call_missing_alert_days):
                if class_id in last and run_start <= last[class_id]:
                    continue
                township = township_level(s.org_chain or [])
                rows.append({"class_id": class_id, "run_start": run_start, "school_code": s.school_code,
                             "township_code": (township or {}).get("code") or _township_from_path(s.org_path),
                             "escalated_at": now, "_org_path": s.org_path})
    if not rows:
        return 0
    extra = {(r["class_id"], r["run_start"]): r for r in rows}
    inserted = (await uow.session.execute(
        insert_ignoring_conflicts(uow.session, roll_call_escalations)
        .values([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
        .returning(roll_call_escalations.c.class_id, roll_call_escalations.c.run_start))).all()
    for class_id, run_start in inserted:
        r = extra[(class_id, run_start)]
        uow.emit(RollCallMissingEscalated(class_id=class_id, school_code=r["school_code"], org_path=r["_org_path"],
                                          township_code=r["township_code"], run_start=run_start,
                                          days=settings.roll_call_missing_alert_days),
                 subject=class_id, event_id=stable_id("roll_call_escalated", class_id, run_start.isoformat()))
    return len(inserted)


def settings_date(at: datetime, settings: AttendanceSettings) -> date:
    return at.astimezone(ZoneInfo(settings.timezone)).date()


def _township_from_path(path: list[str]) -> str | None:
    """Without kinds (an older enrolment event had no chain), the org just above the school."""
    return path[-2] if len(path) >= 2 else None
