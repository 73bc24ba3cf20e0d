"""Opening a case: from attendance's threshold, the registry's overdue transfers, boardings and
suspensions, a suspected out-of-school child, or by hand; one open case per child."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from cases.adapters.tables import cases, standing_responsibility, students
from cases.domain.lifecycle import CaseStatus
from cases.domain.opening import Opening, open_or_join
from cases.domain.responsibility import Level, Standing, fill_chain
from cases.queries.case import get_case
from cases.usecases.common import (
    PLACEMENT,
    SYSTEM,
    VERIFY_DEADLINE,
    add_timelines,
    child_of,
    find_student,
    find_students,
    log,
    open_case_of,
    open_cases_of,
    timeline_entry,
)
from cases.usecases.returns import mark_back, note_return
from shared import audit
from shared.auth import Principal, path_key
from shared.envelope import stable_id
from shared.errors import NotFound
from shared.events.attendance import AbsenceThresholdReached
from shared.events.cases import CaseOpened
from shared.events.registry import BoardingOverdue, SuspectedOutOfSchool, SuspensionOverdue, TransferOverdue
from shared.orgs import county_level, township_level
from shared.routes import Received
from shared.uow import UnitOfWork


async def on_transfer_overdue(uow: UnitOfWork, event: Received[TransferOverdue], *,
                             verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """A transfer out nobody confirmed receiving: where children disappear. Placement = the school left."""
    d = event.data
    detail = {"transfer_id": d.transfer_id, "from_school_code": d.from_school_code, "to_school_code": d.to_school_code,
              "requested_on": d.requested_on, "days_pending": d.days_pending,
              "overdue_after_days": d.overdue_after_days}
    student = await find_student(uow, d.student_id)
    await _open_one_or_join(uow, Alarm(
        child_id=d.student_id, origin="transfer_overdue", detail=detail, source_ref=d.transfer_id,
        placement=_placement(d), child=child_of(student)), verify_deadline=verify_deadline)


async def on_boarding_overdue(uow: UnitOfWork, event: Received[BoardingOverdue], *,
                             verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """A child boarding elsewhere with no host's receipt (回执), or past the expected end and not
    back: nobody has confirmed where the child is (人籍分离). Placement = the home school."""
    d = event.data
    detail = {"period_id": d.period_id, "missing": d.missing, "started_on": d.started_on,
              "expected_end": d.expected_end, "host_school_code": d.host_school_code,
              "host_school_name": d.host_school_name, "host_region": d.host_region, "days_off": d.days_off,
              "overdue_after_days": d.overdue_after_days}
    student = await find_student(uow, d.student_id)
    await _open_one_or_join(uow, Alarm(
        child_id=d.student_id, origin="boarding_overdue", detail=detail, source_ref=d.period_id,
        placement=_placement(d), child=child_of(student)), verify_deadline=verify_deadline)


async def on_suspension_overdue(uow: UnitOfWork, event: Received[SuspensionOverdue], *,
                               verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """A suspension (休学) past its end date, or with none, and the child not back."""
    d = event.data
    detail = {"period_id": d.period_id, "started_on": d.started_on, "expected_end": d.expected_end,
              "reason": d.reason, "days_off": d.days_off, "overdue_after_days": d.overdue_after_days}
    student = await find_student(uow, d.student_id)
    await _open_one_or_join(uow, Alarm(
        child_id=d.student_id, origin="suspension_overdue", detail=detail, source_ref=d.period_id,
        placement=_placement(d), child=child_of(student)), verify_deadline=verify_deadline)


def _placement(d: TransferOverdue | BoardingOverdue | SuspensionOverdue | AbsenceThresholdReached) -> dict[str, Any]:
    """Where the event places the child (``PLACEMENT``'s columns)."""
    return {"school_code": d.school_code, "class_id": d.class_id, "grade": d.grade, "org_path": d.org_path,
            "org_chain": d.org_chain}


async def on_suspected_out_of_school(uow: UnitOfWork, event: Received[SuspectedOutOfSchool], *,
                                    verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """A school-age child on a household list with no active record. There is no student record, so
    the case is keyed by the stable person_id, and its place is the region (no school, no class)."""
    d = event.data
    child = {"name": d.name, "national_id_masked": d.national_id_masked, "gender": d.gender,
             "birth_date": d.birth_date.isoformat(), "address": d.address}  # the case's JSON copy: as sent
    placement = {"school_code": d.region_code, "class_id": None, "grade": None, "org_path": d.org_path,
                 "org_chain": d.org_chain or []}
    await _open_one_or_join(uow, Alarm(child_id=d.person_id, origin="suspected_out_of_school",
                                       detail={"check_id": d.check_id}, source_ref=d.check_id, placement=placement,
                                       child=child), verify_deadline=verify_deadline)


# --- attendance events ----------------------------------------------------------------------

async def on_thresholds_reached(uow: UnitOfWork, events: Sequence[Received[AbsenceThresholdReached]], *,
                                verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """Open each student's case, to be checked by the verification deadline (the dual reports wait
    for the decision: ``move_case``, ``issue_unverified_reports``), or, if a case is already open, add
    the new episode to its timeline. The partial unique index on open cases backs this up: a
    racing replica's insert fails, its consumer retries and takes the timeline branch.

    A batch handler (``shared.routes.Batched``): a detector pass's burst opens its cases in a few
    statements, with the outcome one event at a time would have (``cases.domain.opening``).

    An alarm `detected_late` (the register was typed in after the child came back, or left the
    roll) opens its case with that end already on the timeline: the case is to be verified and
    closed with the return as its evidence."""
    directory = await find_students(uow, {event.data.student_id for event in events})
    pending: list[Alarm] = []
    for event in events:
        d = event.data
        pending.append(_absence_alarm(d, directory.get(d.student_id)))
        # A late-detected episode that had already ended (attendance's ``detected_late``): its end goes
        # on the timeline at once; a child back in class is known to be back, so the case waits for
        # the school rather than being reported at the deadline. (What came before it is opened
        # first, so the timeline reads as one event at a time would write it.)
        if d.detected_late and d.ended_at:
            *_, joined = await _open_or_join(uow, pending, verify_deadline=verify_deadline)
            pending = []
            end_reason = d.end_reason or "returned"
            await note_return(uow, joined.case_id, episode_id=d.episode_id, reason=end_reason, returned_at=d.ended_at)
            if end_reason == "returned":
                await mark_back(uow, joined.case_id)
    await _open_or_join(uow, pending, verify_deadline=verify_deadline)


def _absence_alarm(d: AbsenceThresholdReached, student: Any) -> Alarm:
    absence = {"episode_id": d.episode_id, "episode_started_at": d.episode_started_at, "hours": d.hours,
               "absent_sessions": d.absent_sessions, "last_absent_at": d.last_absent_at,
               "threshold_hours": d.threshold_hours, "counting": d.counting, "due_at": d.due_at,
               "observed_at": d.observed_at, "detected_late": d.detected_late}
    # The event's own placement first: the registry topic may not have been read yet.
    placement = _placement(d)
    placement["org_chain"] = d.org_chain or (student["org_chain"] if student else [])
    return Alarm(child_id=d.student_id, origin="absence", detail=absence, placement=placement,
                 child=child_of(student, grade=d.grade), episode_id=d.episode_id, absence=absence)


# --- opening ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Alarm:
    """What is known of a child reported, for opening a case or joining the child's open one."""

    child_id: str
    origin: str
    detail: dict[str, Any]
    placement: dict[str, Any]
    child: dict[str, Any] | None
    actor: str = SYSTEM
    source_ref: str | None = None
    episode_id: str | None = None
    absence: dict[str, Any] | None = None


async def _open_one_or_join(uow: UnitOfWork, alarm: Alarm, *, verify_deadline: timedelta) -> str | None:
    """``_open_or_join`` for one alarm: the new case's id, None when it joined an open one."""
    (decided,) = await _open_or_join(uow, [alarm], verify_deadline=verify_deadline)
    return decided.case_id if decided.opens else None


async def _open_or_join(uow: UnitOfWork, alarms: Sequence[Alarm], *, verify_deadline: timedelta) -> list[Opening]:
    """Open a case for each alarm, or add its ``detail`` to the child's open case (one open case
    per child, ``cases.domain.opening``), set-based: the open cases, the standing chains, the
    cases and the timeline entries in a statement each, whatever the number of alarms. Returns
    where each went. Every origin is checked by the same deadline and reported by the same rule."""
    if not alarms:
        return []
    now = uow.clock.now()
    decided = open_or_join([a.child_id for a in alarms], await open_cases_of(uow, {a.child_id for a in alarms}),
                           [str(uuid.uuid4()) for _ in alarms])
    opened = [(alarm, d.case_id) for alarm, d in zip(alarms, decided) if d.opens]
    chains = await _standing_chains(uow, [alarm for alarm, _ in opened])
    if opened:
        await uow.session.execute(insert(cases), [{
            "id": case_id, "child_id": a.child_id, "status": CaseStatus.reported.value, "origin": a.origin,
            "episode_id": a.episode_id, "school_code": a.placement["school_code"],
            "class_id": a.placement.get("class_id"), "org_path": path_key(a.placement["org_path"]),
            "org_chain": a.placement.get("org_chain") or [], "child": a.child,
            "flags": path_key((a.child or {}).get("flags") or []), "source_ref": a.source_ref,
            "responsibility": chain, "opened_at": now, "updated_at": now, "verify_due_at": now + verify_deadline,
        } for (a, case_id), chain in zip(opened, chains)])
    await add_timelines(uow, [
        timeline_entry(uow, d.case_id, "opened", {"origin": a.origin, **a.detail, "verify_by": now + verify_deadline},
                       at=now, actor=a.actor) if d.opens else
        timeline_entry(uow, d.case_id, "absence_episode_added" if a.origin == "absence" else f"{a.origin}_reported_again",
                       a.detail, at=now, actor=a.actor)
        for a, d in zip(alarms, decided)])
    for a, case_id in opened:
        uow.emit(CaseOpened(case_id=case_id, student_id=a.child_id, status=CaseStatus.reported.value,
                            origin=a.origin, school_code=a.placement["school_code"],
                            org_path=a.placement["org_path"], grade=a.placement.get("grade"), opened_at=now,
                            absence=a.absence),
                 subject=a.child_id, event_id=stable_id("case.opened", case_id))
        log.info("case.opened", case_id=case_id, origin=a.origin)
    return decided


async def open_manually(uow: UnitOfWork, caller: Principal, student_id: str, note: str, *,
                        verify_deadline: timedelta) -> tuple[dict[str, Any], bool]:
    """A teacher or an official reports a child. If the child already has an open case the report
    joins its timeline (200) rather than opening another (201)."""
    student = await find_student(uow, student_id)
    if student is None or not caller.sees(student["org_path"], student["class_id"]):
        raise NotFound(f"no student with id {student_id} in the cases directory")
    audit.note_place(student["org_path"])
    placement = {k: student[k] for k in PLACEMENT}
    case_id = await _open_one_or_join(uow, Alarm(child_id=student_id, origin="manual", detail={"note": note},
                                                 placement=placement, child=child_of(student), actor=caller.subject),
                                      verify_deadline=verify_deadline)
    if case_id is None:
        audit.answering(200)  # joined the open case: the route answers 200, not 201
    await uow.commit()
    return await get_case(uow, case_id or await open_case_of(uow, student_id), caller), case_id is not None




async def _standing_chains(uow: UnitOfWork, alarms: Sequence[Alarm]) -> list[dict[str, Any]]:
    """The chain each new case starts with: the places above it known by org, and the people of
    every standing assignment (七长/五级) on its path and its class. One query for them all (and one
    for the guardians' addresses when a township's assignments are among them)."""
    codes = [[*a.placement["org_path"], *([a.placement["class_id"]] if a.placement.get("class_id") else [])]
             for a in alarms]
    every = {code for path in codes for code in path}
    rows = (await uow.session.execute(select(standing_responsibility).where(
        standing_responsibility.c.org_code.in_(sorted(every))))).mappings().all() if every else []
    known = {r["org_code"]: Standing(r["org_code"], Level(r["level"]), r["assignments"]) for r in rows}
    standings = [sorted((known[c] for c in set(path) if c in known), key=lambda s, path=path: _last(path, s.org_code))
                 for path in codes]
    wanting = {a.child_id for a, standing in zip(alarms, standings)
               if any(s.level is Level.township for s in standing)}
    guardians = {row.student_id: row.guardians or [] for row in (await uow.session.execute(
        select(students.c.student_id, students.c.guardians).where(
            students.c.student_id.in_(sorted(wanting)))))} if wanting else {}
    chains = []
    for a, standing in zip(alarms, standings):
        addresses = [x for x in [(a.child or {}).get("address")] if isinstance(x, str)]
        addresses += [g["address"] for g in guardians.get(a.child_id, [])
                      if isinstance(g, dict) and isinstance(g.get("address"), str)]
        chains.append(fill_chain(_empty_chain(a.placement.get("org_chain") or []), standing, addresses=addresses))
    return chains


def _last(codes: list[str], code: str) -> int:
    return len(codes) - 1 - codes[::-1].index(code)


def _empty_chain(org_chain: list[dict[str, str]]) -> dict[str, Any]:
    """Every case names its responsible people (七长/五级): the levels are there from the start,
    with the township and county known by org; the names are assigned over HTTP."""
    township, county = township_level(org_chain), county_level(org_chain)
    return {"responsible_person": None, "head_teacher": None, "principal": None,
            "township_official": {"org_code": township["code"]} if township else None,
            # The county-level area: the county, else the city or province that runs the school.
            "county_official": {"org_code": county["code"]} if county else None}
