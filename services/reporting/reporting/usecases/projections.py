"""Projecting events into the read model. Every value comes from the event (its data or its
``ce_time``), never from the clock, so replaying the topics rebuilds the same model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, literal, select, update
from sqlalchemy import case as when

from reporting.adapters.tables import (
    absence_episodes,
    case_work,
    cases,
    class_grades,
    dual_reports,
    home_visits,
    orgs,
    overdue_transfers,
    roll_call_sessions,
    standing_assignments,
    student_statuses,
    students,
    watermarks,
)
from reporting.queries.read_model import level_sql, school_system
from reporting.usecases.rolls import recount, recount_child
from shared.auth import path_key
from shared.events.attendance import AbsenceThresholdReached, RollCallMissing, RollCallRecorded, StudentReturned
from shared.events.base import TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_REGISTRY, TOPIC_REPORTS
from shared.events.cases import (
    CaseClosed,
    CaseOpened,
    CaseStatusChanged,
    HomeVisitRecorded,
    PlanItemAdded,
    ResponsibilityAssigned,
)
from shared.events.registry import (
    ClassPromoted,
    OrgRegistered,
    StudentEnrolled,
    StudentFlagsChanged,
    StudentMerged,
    StudentStatusChanged,
    TransferOverdue,
)
from shared.events.reports import DualReportAcknowledged, DualReportIssued, DualReportWithdrawn
from shared.orgs import DEFAULT_SYSTEM, OrgKind, level_of
from shared.routes import Batched, Received, Routes
from shared.sql import insert_ignoring_conflicts, upsert
from shared.uow import UnitOfWork


def _date(value: Any, default: date) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(value[:10]) if value else default


def _instant(value: Any, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value) if value else default


async def _advance(uow: UnitOfWork, topic: str, event: Received[Any]) -> None:
    """Move the topic's watermark forward, never back (a redelivered old event leaves it)."""
    await _advance_to(uow, topic, event.time)


async def _advance_to(uow: UnitOfWork, topic: str, at: datetime) -> None:
    await uow.session.execute(insert_ignoring_conflicts(uow.session, watermarks).values(topic=topic, event_time=at))
    await uow.session.execute(
        update(watermarks).where(watermarks.c.topic == topic, watermarks.c.event_time < at).values(event_time=at))


# --- registry -------------------------------------------------------------------------------

async def on_org_registered(uow: UnitOfWork, event: Received[OrgRegistered]) -> None:
    """Also sent again when an org is renamed or a school's system corrected: an upsert. An event
    from before systems were recorded has none: its school is six-three."""
    d = event.data
    system = (d.system or DEFAULT_SYSTEM.value) if d.kind == OrgKind.school.value else None
    await upsert(uow.session, orgs, {"code": d.code},
                 {"name": d.name, "kind": d.kind, "path": path_key(d.path), "system": system})
    await _advance(uow, TOPIC_REGISTRY, event)


async def _level(uow: UnitOfWork, path: str, grade: int | None) -> str | None:
    """The level by the school's system as the model knows it now, for the stored column. The
    figures derive the level again when they read (``read_model.level_sql``), so a school
    announced after its children, or a corrected system, still counts them at the right level."""
    system = (await uow.session.execute(select(school_system(literal(path))))).scalar_one()
    return level_of(system, grade)


async def on_student_enrolled(uow: UnitOfWork, event: Received[StudentEnrolled]) -> None:
    d = event.data
    enrolled_on = _date(d.enrolled_on, event.time.date())
    status = d.status
    path = path_key(d.org_path)
    placement = {"path": path, "grade": d.grade, "level": await _level(uow, path, d.grade),
                 "class_id": d.class_id}
    await upsert(uow.session, students, {"student_id": d.student_id}, {
        **placement, "status": status, "school_code": d.school_code, "name": d.name,
        "national_id_masked": d.national_id_masked, "gender": d.gender,
        "birth_date": _date(d.birth_date, None) if d.birth_date else None,
        "flags": list(d.flags or []), "status_reason": None, "status_since": enrolled_on,
        "enrolled_on": enrolled_on, "placed_at": event.time})
    await uow.session.execute(student_statuses.insert().values(
        student_id=d.student_id, effective_on=enrolled_on, at=event.time, status=status, **placement))
    await uow.session.execute(link_history(d.student_id))
    await recount_child(uow, d.student_id)
    await _catch_up_promotions(uow, d.student_id)
    await _advance(uow, TOPIC_REGISTRY, event)


async def on_student_status_changed(uow: UnitOfWork, event: Received[StudentStatusChanged]) -> None:
    """The new status (and placement, when it moved: a confirmed transfer) from its effective
    date; an event for a student the model has never seen changes nothing."""
    d = event.data
    effective_on = _date(d.effective_on, event.time.date())
    values: dict[str, Any] = {"status": d.status, "status_reason": d.reason, "status_since": effective_on,
                              "placed_at": event.time}
    if d.org_path:
        values["path"] = path_key(d.org_path)
        values["school_code"] = d.school_code or d.org_path[-1]
    if d.grade is not None:
        values.update(grade=d.grade, level=level_sql(literal(d.grade), school_system(
            literal(values["path"]) if "path" in values else students.c.path)))
    if d.class_id:
        values["class_id"] = d.class_id
    await uow.session.execute(update(students).where(students.c.student_id == d.student_id).values(**values))
    # The row is the student's state after the change: one INSERT ... SELECT, placement included
    # even when the event left it out.
    cols = ("student_id", "status", "path", "class_id", "grade", "level")
    await uow.session.execute(student_statuses.insert().from_select(
        [*cols, "reason", "effective_on", "at"],
        select(*(students.c[c] for c in cols), students.c.status_reason,
               literal(effective_on, student_statuses.c.effective_on.type),
               literal(event.time, student_statuses.c.at.type)).where(students.c.student_id == d.student_id)))
    await uow.session.execute(link_history(d.student_id))
    await recount_child(uow, d.student_id)
    await _catch_up_promotions(uow, d.student_id)
    await _advance(uow, TOPIC_REGISTRY, event)


async def on_student_flags_changed(uow: UnitOfWork, event: Received[StudentFlagsChanged]) -> None:
    """The flags as they are after the change: the ledgers (poor households...) follow them."""
    d = event.data
    await uow.session.execute(update(students).where(students.c.student_id == d.student_id).values(
        flags=list(d.flags or [])))
    await _advance(uow, TOPIC_REGISTRY, event)


async def on_student_merged(uow: UnitOfWork, event: Received[StudentMerged]) -> None:
    """Two records of one child made one: the merged id's status history, cases, episodes and
    overdue transfers are the kept id's, and its current row goes (the child was counted twice;
    now once, with both histories)."""
    d = event.data
    kept, merged = d.kept_id, d.merged_id
    # The kept child's row is locked first (as a status change's UPDATE of it does), so that a
    # change to them committing meanwhile is in the history this links.
    await uow.session.execute(select(students.c.student_id).where(students.c.student_id == kept).with_for_update())
    for table in (student_statuses, cases, absence_episodes, overdue_transfers):
        await uow.session.execute(update(table).where(table.c.student_id == merged).values(student_id=kept))
    await uow.session.execute(link_history(kept))
    await recount_child(uow, kept)
    await uow.session.execute(delete(students).where(students.c.student_id == merged))
    await _advance(uow, TOPIC_REGISTRY, event)


async def on_class_promoted(uow: UnitOfWork, event: Received[ClassPromoted]) -> None:
    """A class moved up a grade from the event's day: recorded for figures as of any day, and
    applied to the current grade of the children placed in the class before it."""
    d = event.data
    await uow.session.execute(class_grades.insert().values(
        class_id=d.class_id, effective_on=event.time.date(), at=event.time, grade=d.grade))
    await recount(uow, [d.class_id])  # the epochs of its rows placed before the promotion move
    await uow.session.execute(update(students).where(
        students.c.class_id == d.class_id, students.c.placed_at < event.time).values(
        grade=d.grade, level=level_sql(literal(d.grade), school_system(students.c.path))))
    await _advance(uow, TOPIC_REGISTRY, event)


async def _catch_up_promotions(uow: UnitOfWork, student_id: str) -> None:
    """A promotion of the child's class that happened after the event just applied (it arrived
    first from another partition) still moves the child's current grade."""
    latest = (select(class_grades.c.grade).where(class_grades.c.class_id == students.c.class_id,
                                                 class_grades.c.at > students.c.placed_at)
              .order_by(class_grades.c.at.desc()).limit(1).scalar_subquery())
    await uow.session.execute(update(students).where(students.c.student_id == student_id, latest.is_not(None))
                              .values(grade=latest, level=level_sql(latest, school_system(students.c.path))))


def link_history(student_id: str | None = None) -> Any:
    """UPDATE: the links of each status row to its neighbours in the child's history, in the
    history's order (effective_on, then event time, then arrival): the next row's effective_on,
    the previous row's status, and whether the child had dropped out by this row. Run for the
    child after each row written (the student's row is locked by then: their events apply one at
    a time), and for every child by the migration that added the links and by bulk loads."""
    h = student_statuses
    order = (h.c.effective_on, h.c.at, h.c.id)
    w = select(h.c.id, func.lead(h.c.effective_on).over(partition_by=h.c.student_id, order_by=order).label("next_on"),
               func.lag(h.c.status).over(partition_by=h.c.student_id, order_by=order).label("prev_status"),
               func.max(when((h.c.status == "dropped_out", 1), else_=0)).over(
                   partition_by=h.c.student_id, order_by=order).label("was_out"))
    if student_id is not None:
        w = w.where(h.c.student_id == student_id)
    links = w.subquery("links")
    return (update(h).where(h.c.id == links.c.id)
            .values(next_on=links.c.next_on, prev_status=links.c.prev_status, was_out=links.c.was_out == 1))


async def on_transfer_overdue(uow: UnitOfWork, event: Received[TransferOverdue]) -> None:
    d = event.data
    path = path_key(d.org_path)
    await uow.session.execute(insert_ignoring_conflicts(uow.session, overdue_transfers).values(
        transfer_id=d.transfer_id, student_id=d.student_id, path=path,
        level=await _level(uow, path, d.grade),
        requested_on=_date(d.requested_on, event.time.date()), flagged_at=event.time))
    await _advance(uow, TOPIC_REGISTRY, event)


# --- attendance -----------------------------------------------------------------------------

async def on_threshold_reached(uow: UnitOfWork, event: Received[AbsenceThresholdReached]) -> None:
    d = event.data
    path = path_key(d.org_path)
    await uow.session.execute(insert_ignoring_conflicts(uow.session, absence_episodes).values(
        episode_id=d.episode_id or event.id, student_id=d.student_id, path=path,
        level=await _level(uow, path, d.grade), started_at=_instant(d.episode_started_at, event.time),
        reached_at=event.time))
    await _advance(uow, TOPIC_ATTENDANCE, event)


async def on_student_returned(uow: UnitOfWork, event: Received[StudentReturned]) -> None:
    """A withdrawn alarm (a correction showed the threshold was not reached) leaves the counts it
    entered. A return or a child leaving the roll changes no count: the alarm stood. The
    threshold event comes first (same key, same partition), so the row is there to mark."""
    d = event.data
    if d.reason == "withdrawn":
        await uow.session.execute(update(absence_episodes).where(
            absence_episodes.c.episode_id == d.episode_id, absence_episodes.c.withdrawn_at.is_(None))
            .values(withdrawn_at=_instant(d.returned_at, event.time)))
    await _advance(uow, TOPIC_ATTENDANCE, event)


# --- cases ----------------------------------------------------------------------------------

async def on_case_opened(uow: UnitOfWork, event: Received[CaseOpened]) -> None:
    d = event.data
    path = path_key(d.org_path)
    await upsert(uow.session, cases, {"case_id": d.case_id}, {
        "student_id": d.student_id, "path": path, "grade": d.grade,
        "level": await _level(uow, path, d.grade), "class_id": None, "status": d.status,
        "opened_at": _instant(d.opened_at, event.time)})
    await _advance(uow, TOPIC_CASES, event)


async def on_case_status_changed(uow: UnitOfWork, event: Received[CaseStatusChanged | CaseClosed]) -> None:
    """status_changed and closed: the first return and the close-out keep their time; the
    outcome of a close (returned, false_alarm, ...) is kept when the event names it."""
    d = event.data
    at = _instant(d.at, event.time)
    values: dict[str, Any] = {"status": d.status}
    outcome = d.outcome if isinstance(d, CaseClosed) else None
    returned = d.status == "returned" or outcome == "returned"
    if returned:
        values["returned_at"] = when((cases.c.returned_at.is_(None), at), else_=cases.c.returned_at)
    # The first time it became a confirmed dropout, and the first move to persuading (which cases
    # allows only with a responsible person and a plan): the weekly 责任落实 counts from these.
    for status, column in (("confirmed", cases.c.confirmed_at), ("persuading", cases.c.persuading_at)):
        if d.status == status:
            values[column.name] = when((column.is_(None) | (column > at), at), else_=column)
    if isinstance(d, CaseClosed) or d.status == "closed":
        values.update(closed_at=at, outcome=outcome)
    await uow.session.execute(update(cases).where(cases.c.case_id == d.case_id).values(**values))
    await _advance(uow, TOPIC_CASES, event)


async def on_home_visit_recorded(uow: UnitOfWork, event: Received[HomeVisitRecorded]) -> None:
    d = event.data
    at = _instant(d.visited_at, event.time)
    await uow.session.execute(insert_ignoring_conflicts(uow.session, home_visits).values(
        visit_id=d.visit_id or event.id, case_id=d.case_id, visited_at=at))
    await uow.session.execute(update(cases).where(cases.c.case_id == d.case_id).values(first_visit_at=when(
        (and_(cases.c.first_visit_at.is_not(None), cases.c.first_visit_at <= at), cases.c.first_visit_at), else_=at)))
    await _advance(uow, TOPIC_CASES, event)


# --- dual reports ---------------------------------------------------------------------------

async def on_dual_report_issued(uow: UnitOfWork, event: Received[DualReportIssued]) -> None:
    d = event.data
    await upsert(uow.session, dual_reports, {"report_id": d.report_id}, {
        "case_id": d.case_id, "recipient": d.recipient, "issued_at": _instant(d.issued_at, event.time)})
    await _advance(uow, TOPIC_REPORTS, event)


async def on_dual_report_acknowledged(uow: UnitOfWork, event: Received[DualReportAcknowledged]) -> None:
    d = event.data
    await upsert(uow.session, dual_reports, {"report_id": d.report_id}, {
        "case_id": d.case_id, "acknowledged_at": _instant(d.acknowledged_at, event.time)})
    await _advance(uow, TOPIC_REPORTS, event)


async def on_dual_report_withdrawn(uow: UnitOfWork, event: Received[DualReportWithdrawn]) -> None:
    d = event.data
    await upsert(uow.session, dual_reports, {"report_id": d.report_id}, {
        "case_id": d.case_id, "withdrawn_at": _instant(d.withdrawn_at, event.time)})
    await _advance(uow, TOPIC_REPORTS, event)


async def _first(uow: UnitOfWork, case_id: str, column_name: str, at: datetime) -> None:
    """Keep the earliest instant: redelivered or reordered events never move it later."""
    column = case_work.c[column_name]
    await uow.session.execute(insert_ignoring_conflicts(uow.session, case_work).values(case_id=case_id))
    await uow.session.execute(update(case_work).where(case_work.c.case_id == case_id).values(
        {column_name: when((column.is_(None) | (column > at), at), else_=column)}))


async def on_responsibility_assigned(uow: UnitOfWork, event: Received[ResponsibilityAssigned]) -> None:
    """A case's chain naming a 劝返责任人, or a place's standing assignment (七长/五级)."""
    d = event.data
    at = _instant(d.assigned_at, event.time)
    if d.scope == "case":
        if d.case_id and d.responsible_person:
            await _first(uow, d.case_id, "responsible_at", at)
    elif d.level:
        await uow.session.execute(insert_ignoring_conflicts(uow.session, standing_assignments).values(
            event_id=event.id, org_code=d.org_code, level=d.level, roles=dict(d.roles or {}),
            assigned_at=at))
    await _advance(uow, TOPIC_CASES, event)


async def on_plan_item_added(uow: UnitOfWork, event: Received[PlanItemAdded]) -> None:
    d = event.data
    await _first(uow, d.case_id, "planned_at", _instant(d.added_at, event.time))
    await _advance(uow, TOPIC_CASES, event)


# --- roll-call completeness (动态监测) ----------------------------------------------------------

def _roll_call_day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# One statement each for a whole run of roll calls (executemany, built once): the morning peak's
# burst is one run per fetched batch, and three statements per roll call cost reporting more CPU
# than the attendance service's own work on the same cores (bench.ingest's burst ledger).
_KEY = ("class_id", "date", "session")
_TAKEN = (update(roll_call_sessions)
          .where(*(roll_call_sessions.c[k] == bindparam(f"k_{k}") for k in _KEY))
          .values(taken=True, seen=bindparam("v_seen"), marked=bindparam("v_marked"),
                  on_time=roll_call_sessions.c.on_time | bindparam("v_on_time"),
                  expected=roll_call_sessions.c.expected | bindparam("v_expected")))


async def on_roll_calls_recorded(uow: UnitOfWork, events: Sequence[Received[RollCallRecorded]]) -> None:
    """Taken; on time if any recording of the session was (a later correction is not lateness).

    A batch handler (``shared.routes.Batched``): the rows come out as applying the events one at a
    time would. Every insert of the run before its updates changes nothing: an insert only creates
    a session's row with the values its own update then sets (the first event of a session, whose
    update follows in order), and a later one is ignored either way."""
    if not events:
        return
    inserts, updates = [], []
    for event in events:
        d = event.data
        key = {"class_id": d.class_id, "date": _roll_call_day(d.date), "session": d.session}
        counts = d.counts or {}
        seen, marked = int(counts.get("present", 0)) + int(counts.get("late", 0)), int(d.marks or 0)
        inserts.append({**key, "path": path_key(d.org_path), "expected": bool(d.expected), "taken": True,
                        "seen": seen, "marked": marked, "on_time": bool(d.on_time)})
        updates.append({**{f"k_{k}": v for k, v in key.items()}, "v_seen": seen, "v_marked": marked,
                        "v_on_time": bool(d.on_time), "v_expected": bool(d.expected)})
    await uow.session.execute(insert_ignoring_conflicts(uow.session, roll_call_sessions), inserts)
    await uow.session.execute(_TAKEN, updates)
    await _advance_to(uow, TOPIC_ATTENDANCE, max(event.time for event in events))


async def on_roll_call_missing(uow: UnitOfWork, event: Received[RollCallMissing]) -> None:
    """Expected and not taken by its due time; a roll call recorded for it later marks it taken."""
    d = event.data
    key = {"class_id": d.class_id, "date": _roll_call_day(d.date), "session": d.session}
    await uow.session.execute(insert_ignoring_conflicts(uow.session, roll_call_sessions).values(
        **key, path=path_key(d.org_path), expected=True, taken=False, on_time=False, seen=0, marked=0))
    await uow.session.execute(update(roll_call_sessions).where(
        *(roll_call_sessions.c[k] == v for k, v in key.items())).values(expected=True))
    await _advance(uow, TOPIC_ATTENDANCE, event)


HANDLERS = {
    OrgRegistered: on_org_registered,
    StudentEnrolled: on_student_enrolled,
    StudentStatusChanged: on_student_status_changed,
    StudentFlagsChanged: on_student_flags_changed,
    StudentMerged: on_student_merged,
    ClassPromoted: on_class_promoted,
    TransferOverdue: on_transfer_overdue,
    AbsenceThresholdReached: on_threshold_reached,
    StudentReturned: on_student_returned,
    RollCallRecorded: Batched(on_roll_calls_recorded),
    RollCallMissing: on_roll_call_missing,
    CaseOpened: on_case_opened,
    CaseStatusChanged: on_case_status_changed,
    CaseClosed: on_case_status_changed,
    HomeVisitRecorded: on_home_visit_recorded,
    ResponsibilityAssigned: on_responsibility_assigned,
    PlanItemAdded: on_plan_item_added,
    DualReportIssued: on_dual_report_issued,
    DualReportAcknowledged: on_dual_report_acknowledged,
    DualReportWithdrawn: on_dual_report_withdrawn,
}
# The topics reporting reads (and a rebuild replays): those of the models it handles.
TOPICS = Routes(HANDLERS).topics
