"""What the 48-hour clock reads for a set of students, one query per table for all of them:
effective calendars, dated placements, roster rows, marks and approved leave."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Select, exists, func, literal, literal_column, null, select, type_coerce, union_all

from attendance.adapters.tables import calendars, leaves, marks, placements, roster
from attendance.domain import episodes as rule
from attendance.domain import national
from attendance.domain.calendar import Calendar, layered
from attendance.domain.leave import LeaveStatus
from attendance.settings import AttendanceSettings
from shared.sql import among, any_of, built_once
from shared.types import UtcDateTime
from shared.uow import UnitOfWork

# Run for every roll call: built once (see `built_once`).
_CALENDARS = built_once(lambda d: select(calendars.c.org_code, calendars.c.body)
                        .where(any_of(d, calendars.c.org_code, "codes")))
_PLACEMENTS = built_once(lambda d: select(placements).where(any_of(d, placements.c.student_id, "ids"))
                         .order_by(placements.c.student_id, placements.c.effective_on))
def _approved_leave(dialect: str) -> Select[Any]:
    return (select(leaves.c.student_id, leaves.c.start, leaves.c.end, null().cast(marks.c.status.type))
            .where(any_of(dialect, leaves.c.student_id, "ids"), leaves.c.status == LeaveStatus.approved.value))


_APPROVED_LEAVE = built_once(_approved_leave)
# (student, at, None, status) for a mark, (student, start, end, None) for approved leave.
_MARKS_AND_LEAVE = built_once(lambda d: union_all(
    select(marks.c.student_id, marks.c.at, null().cast(UtcDateTime()), marks.c.status)
    .where(any_of(d, marks.c.student_id, "ids")),
    _approved_leave(d)))


async def calendars_for(uow: UnitOfWork, settings: AttendanceSettings,
                        org_paths: Iterable[list[str]]) -> dict[tuple[str, ...], Calendar]:
    """The effective calendar of each org path (county default overlaid by the school's own), in
    one query for all of them."""
    paths = {tuple(p) for p in org_paths}
    codes = {c for p in paths for c in p}
    docs = dict((await uow.session.execute(_CALENDARS(uow.session), {"codes": sorted(codes)})).all()) \
        if codes else {}
    return {p: calendar_on_path(settings, docs, p) for p in paths}


def calendar_on_path(settings: AttendanceSettings, docs: Mapping[str, Any], org_path: Iterable[str]) -> Calendar:
    """The effective calendar of an org path from the stored layers by org code (``docs`` holds
    every layer on the path: those it lacks have none)."""
    base = national.DAYS if settings.national_calendar == "cn" else national.NONE
    return layered([docs[c] for c in org_path if c in docs], timezone_name=settings.timezone,
                   am=settings.session_am_starts, pm=settings.session_pm_starts, national=base)


async def calendar_of(uow: UnitOfWork, settings: AttendanceSettings, org_path: list[str]) -> Calendar:
    return (await calendars_for(uow, settings, [org_path]))[tuple(org_path)]


async def placements_of(uow: UnitOfWork, student_ids: list[str]) -> dict[str, list[Any]]:
    """Each child's dated placements, oldest first, in one query."""
    found: dict[str, list[Any]] = {}
    for row in (await uow.session.execute(_PLACEMENTS(uow.session), {"ids": list(student_ids)})).all():
        found.setdefault(row.student_id, []).append(row)
    return found


# A placement read with its student's roster row (`roster_and_placements`), like a row of placements.
Placement = namedtuple("Placement", [c.name for c in placements.c])  # type: ignore[misc]


def _roster_placements_and_calendars(dialect: str) -> Any:
    """The students' roster rows joined to their placements, then (``cal_*``, the other columns
    NULL) every calendar layer whose org is on one of their org paths: a roll call needs its
    class's calendar, and its class is where its students are."""
    # Labelled, so SQLite finds the compound's ORDER BY terms among them.
    student = [*(c.label(c.name) for c in (roster.c.student_id, roster.c.class_id, roster.c.active,
                                              roster.c.school_code, roster.c.org_path, roster.c.attending_since)),
               *(c.label(f"placed_{c.name}") for c in placements.c)]
    if dialect == "postgresql":
        # The codes on the named students' paths, looked up by the calendars' primary key.
        on_path: Any = calendars.c.org_code.in_(
            select(func.unnest(func.string_to_array(roster.c.org_path, "/")))
            .where(any_of(dialect, roster.c.student_id, "ids")).scalar_subquery())
    else:  # SQLite has no arrays: each layer is matched against the paths (few on an SQLite deployment)
        on_path = exists().where(any_of(dialect, roster.c.student_id, "ids"),
                                 func.instr(roster.c.org_path, literal("/") + calendars.c.org_code + literal("/")) > 0)
    return union_all(
        select(*student, type_coerce(null(), calendars.c.org_code.type).label("cal_org_code"),
               type_coerce(null(), calendars.c.body.type).label("cal_body"))
        .select_from(roster.outerjoin(placements, placements.c.student_id == roster.c.student_id))
        .where(any_of(dialect, roster.c.student_id, "ids")),
        select(*(null().label(c.name) for c in student), calendars.c.org_code, calendars.c.body).where(on_path),
    ).order_by(literal_column("student_id"), literal_column("placed_effective_on"))


_ROSTER_PLACEMENTS_AND_CALENDARS = built_once(_roster_placements_and_calendars)


async def roster_and_placements(uow: UnitOfWork, student_ids: list[str]) -> tuple[
        dict[str, Any], dict[str, list[Any]], dict[str, Any]]:
    """The students' roster rows and, for those on the roster, their dated placements oldest
    first (as `placements_of`), and the calendar layers on their org paths by org code, in one
    round trip: a roll call reads all three (`calendar_on_path` makes a roster row's calendar)."""
    rows: dict[str, Any] = {}
    dated: dict[str, list[Any]] = {}
    docs: dict[str, Any] = {}
    for r in (await uow.session.execute(_ROSTER_PLACEMENTS_AND_CALENDARS(uow.session),
                                        {"ids": list(student_ids)})).all():
        if r.cal_org_code is not None:
            docs[r.cal_org_code] = r.cal_body
            continue
        rows.setdefault(r.student_id, r)
        if r.placed_effective_on is not None:
            dated.setdefault(r.student_id, []).append(Placement(*(getattr(r, f"placed_{c.name}") for c in placements.c)))
    return rows, dated, docs


def placement_on(rows: list[Any], day: date) -> Any:
    """The placement in force on ``day``: the newest effective by then, else the first one."""
    return next((r for r in reversed(rows) if r.effective_on <= day), rows[0])


def attending_spans(rows: list[Any], calendar: Calendar) -> tuple[rule.Attending, ...]:
    """The spans a child was on the roll, from the placements' dates (local midnight); a change
    that keeps the child attending (a new class) does not cut a span.

    The first placement reaches back without limit: marks from before the record's first date
    are the child's. When it is a leaving one the child was on the roll until it, for only a
    child on the roll can leave it: a dropout dated the day of enrolment replaces the enrolment's
    placement (one per date), and the absences before it must not vanish with it (the episode
    that fired on them was withdrawn, then fired again when the child came back)."""
    if not rows:
        return rule.ALWAYS  # loaded without placements (a bulk load): attending all along
    spans: list[rule.Attending] = []
    for i, row in enumerate(rows):
        start = None if i == 0 else calendar.local_midnight(row.effective_on)
        end = calendar.local_midnight(rows[i + 1].effective_on) if i + 1 < len(rows) else None
        if not row.active:
            if i == 0:
                spans.append(rule.Attending(None, calendar.local_midnight(row.effective_on)))
            continue
        if spans and spans[-1].end == start:
            spans[-1] = rule.Attending(spans[-1].start, end)
        else:
            spans.append(rule.Attending(start, end))
    return tuple(spans)


class Inputs(NamedTuple):
    """What the clock needs for a set of students, keyed by student id."""
    places: dict[str, Any]  # roster rows
    calendars: dict[str, Calendar]
    marks: dict[str, list[rule.Mark]]
    leaves: dict[str, list[rule.LeaveSpan]]  # approved
    attending: dict[str, tuple[rule.Attending, ...]]


async def load_inputs(uow: UnitOfWork, settings: AttendanceSettings, student_ids: list[str], *,
                  with_marks: bool = True, calendar: Calendar | None = None, places: dict[str, Any] | None = None,
                  dated: dict[str, list[Any]] | None = None) -> Inputs:
    """What the clock needs for these students, one query per table for all of them: roster rows,
    effective calendars, dated placements, marks and approved leave. A roll call has read its
    class's roster rows and calendar already and passes them (``places``, ``calendar``); they are
    used when they cover every student (a re-posted roll call also recomputes students it no
    longer names, who may have moved to another class or school since), and so are the dated
    placements it read for those roster rows (``dated``)."""
    if places is not None and calendar is not None and places.keys() >= set(student_ids):
        places = {sid: places[sid] for sid in student_ids}
        cal_by = {sid: calendar for sid in places}
    else:
        dated = None
        places = {r.student_id: r for r in (await uow.session.execute(
            select(roster).where(among(uow.session, roster.c.student_id, student_ids)))).all()}
        cals = await calendars_for(uow, settings, [r.org_path for r in places.values()])
        cal_by = {sid: cals[tuple(r.org_path)] for sid, r in places.items()}
    if dated is None:
        dated = await placements_of(uow, student_ids)
    attending = {sid: attending_spans(dated.get(sid, []), cal_by[sid]) for sid in places}
    marks_by: dict[str, list[rule.Mark]] = {s: [] for s in student_ids}
    leave_by: dict[str, list[rule.LeaveSpan]] = {s: [] for s in student_ids}
    # Marks and approved leave in one round trip: a leave row is the one without a status.
    for sid, start, end, status in (await uow.session.execute(
            (_MARKS_AND_LEAVE if with_marks else _APPROVED_LEAVE)(uow.session), {"ids": list(student_ids)})).all():
        if status is None:
            leave_by[sid].append(rule.LeaveSpan(start, end))
        else:
            marks_by[sid].append(rule.Mark(start, status))
    return Inputs(places, cal_by, marks_by, leave_by, attending)
