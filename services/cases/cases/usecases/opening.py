"""Opening a case: from attendance's threshold, the registry's overdue transfers, boardings and
suspensions, a suspected out-of-school child, or by hand; one open case per child."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from cases.adapters.tables import cases, standing_responsibility, students
from cases.domain.lifecycle import CaseStatus
from cases.domain.responsibility import Level, Standing, fill_chain
from cases.queries.case import get_case
from cases.usecases.common import (
    PLACEMENT,
    SYSTEM,
    VERIFY_DEADLINE,
    add_timeline,
    child_of,
    find_student,
    log,
    open_case_of,
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
    await _open_or_join(
        uow, child_id=d.student_id, origin="transfer_overdue", detail=detail, source_ref=d.transfer_id,
        placement=_placement(d), child=child_of(student), verify_deadline=verify_deadline)


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
    await _open_or_join(
        uow, child_id=d.student_id, origin="boarding_overdue", detail=detail, source_ref=d.period_id,
        placement=_placement(d), child=child_of(student), verify_deadline=verify_deadline)


async def on_suspension_overdue(uow: UnitOfWork, event: Received[SuspensionOverdue], *,
                               verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """A suspension (休学) past its end date, or with none, and the child not back."""
    d = event.data
    detail = {"period_id": d.period_id, "started_on": d.started_on, "expected_end": d.expected_end,
              "reason": d.reason, "days_off": d.days_off, "overdue_after_days": d.overdue_after_days}
    student = await find_student(uow, d.student_id)
    await _open_or_join(
        uow, child_id=d.student_id, origin="suspension_overdue", detail=detail, source_ref=d.period_id,
        placement=_placement(d), child=child_of(student), verify_deadline=verify_deadline)


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
    await _open_or_join(uow, child_id=d.person_id, origin="suspected_out_of_school",
                        detail={"check_id": d.check_id}, source_ref=d.check_id, placement=placement, child=child,
                        verify_deadline=verify_deadline)


# --- attendance events ----------------------------------------------------------------------

async def on_threshold_reached(uow: UnitOfWork, event: Received[AbsenceThresholdReached], *,
                              verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """Open the student's case, to be checked by the verification deadline (the dual reports wait
    for the decision: ``move_case``, ``issue_unverified_reports``), or, if a case is already open, add
    the new episode to its timeline. The partial unique index on open cases backs this up: a
    racing replica's insert fails, its consumer retries and takes the timeline branch.

    An alarm `detected_late` (the register was typed in after the child came back, or left the
    roll) opens its case with that end already on the timeline: the case is to be verified and
    closed with the return as its evidence."""
    d = event.data
    absence = {"episode_id": d.episode_id, "episode_started_at": d.episode_started_at, "hours": d.hours,
               "absent_sessions": d.absent_sessions, "last_absent_at": d.last_absent_at,
               "threshold_hours": d.threshold_hours, "counting": d.counting, "due_at": d.due_at,
               "observed_at": d.observed_at, "detected_late": d.detected_late}
    student = await find_student(uow, d.student_id)
    # The event's own placement first: the registry topic may not have been read yet.
    placement = _placement(d)
    placement["org_chain"] = d.org_chain or (student["org_chain"] if student else [])
    case_id = await _open_or_join(uow, child_id=d.student_id, origin="absence", detail=absence,
                                  placement=placement, child=child_of(student, grade=d.grade),
                                  episode_id=d.episode_id, absence=absence, verify_deadline=verify_deadline)
    # A late-detected episode that had already ended (attendance's ``detected_late``): its end goes
    # on the timeline at once; a child back in class is known to be back, so the case waits for
    # the school rather than being reported at the deadline.
    if d.detected_late and d.ended_at:
        joined = case_id or await open_case_of(uow, d.student_id)
        end_reason = d.end_reason or "returned"
        await note_return(uow, joined, episode_id=d.episode_id, reason=end_reason, returned_at=d.ended_at)
        if end_reason == "returned":
            await mark_back(uow, joined)




# --- opening ----------------------------------------------------------------------------------

async def _open_or_join(uow: UnitOfWork, *, child_id: str, origin: str, detail: dict[str, Any],
                        placement: dict[str, Any], child: dict[str, Any] | None, actor: str = SYSTEM,
                        source_ref: str | None = None, episode_id: str | None = None,
                        absence: dict[str, Any] | None = None, verify_deadline: timedelta) -> str | None:
    """Open a case, or add ``detail`` to the student's open case (one open case per child).
    Returns the new case's id, None when it joined an open one. Every origin is checked by the
    same deadline and reported by the same rule."""
    now = uow.clock.now()
    open_case = await open_case_of(uow, child_id)
    if open_case is not None:
        kind = "absence_episode_added" if origin == "absence" else f"{origin}_reported_again"
        await add_timeline(uow, open_case, kind, detail, at=now, actor=actor)
        return None
    case_id = str(uuid.uuid4())
    org_path = placement["org_path"]
    chain = await _standing_chain(uow, child_id, placement, child)
    await uow.session.execute(insert(cases).values(
        id=case_id, child_id=child_id, status=CaseStatus.reported.value, origin=origin, episode_id=episode_id,
        school_code=placement["school_code"], class_id=placement.get("class_id"), org_path=path_key(org_path),
        org_chain=placement.get("org_chain") or [], child=child,
        flags=path_key((child or {}).get("flags") or []), source_ref=source_ref,
        responsibility=chain, opened_at=now, updated_at=now, verify_due_at=now + verify_deadline,
    ))
    await add_timeline(uow, case_id, "opened", {"origin": origin, **detail, "verify_by": now + verify_deadline},
                        at=now, actor=actor)
    uow.emit(CaseOpened(case_id=case_id, student_id=child_id, status=CaseStatus.reported.value, origin=origin,
                        school_code=placement["school_code"], org_path=org_path, grade=placement.get("grade"),
                        opened_at=now, absence=absence),
             subject=child_id, event_id=stable_id("case.opened", case_id))
    log.info("case.opened", case_id=case_id, origin=origin)
    return case_id


async def open_manually(uow: UnitOfWork, caller: Principal, student_id: str, note: str, *,
                        verify_deadline: timedelta) -> tuple[dict[str, Any], bool]:
    """A teacher or an official reports a child. If the child already has an open case the report
    joins its timeline (200) rather than opening another (201)."""
    student = await find_student(uow, student_id)
    if student is None or not caller.sees(student["org_path"], student["class_id"]):
        raise NotFound(f"no student with id {student_id} in the cases directory")
    audit.note_place(student["org_path"])
    placement = {k: student[k] for k in PLACEMENT}
    case_id = await _open_or_join(uow, child_id=student_id, origin="manual", detail={"note": note},
                                  placement=placement, child=child_of(student), actor=caller.subject,
                                  verify_deadline=verify_deadline)
    if case_id is None:
        audit.answering(200)  # joined the open case: the route answers 200, not 201
    await uow.commit()
    return await get_case(uow, case_id or await open_case_of(uow, student_id), caller), case_id is not None




async def _standing_chain(uow: UnitOfWork, student_id: str, placement: dict[str, Any],
                          child: dict[str, Any] | None) -> dict[str, Any]:
    """The chain a new case starts with: the places above it known by org, and the people of
    every standing assignment (七长/五级) on its path and its class. One query."""
    codes = [*placement["org_path"], *([placement["class_id"]] if placement.get("class_id") else [])]
    rows = (await uow.session.execute(select(standing_responsibility).where(
        standing_responsibility.c.org_code.in_(codes)))).mappings().all()
    order = {code: i for i, code in enumerate(codes)}
    standing = [Standing(r["org_code"], Level(r["level"]), r["assignments"])
                for r in sorted(rows, key=lambda r: order[r["org_code"]])]
    addresses = [a for a in [(child or {}).get("address")] if isinstance(a, str)]
    if standing and any(s.level is Level.township for s in standing):
        guardians = (await uow.session.execute(select(students.c.guardians).where(
            students.c.student_id == student_id))).scalar_one_or_none() or []
        addresses += [g["address"] for g in guardians if isinstance(g, dict) and isinstance(g.get("address"), str)]
    return fill_chain(_empty_chain(placement.get("org_chain") or []), standing, addresses=addresses)


def _empty_chain(org_chain: list[dict[str, str]]) -> dict[str, Any]:
    """Every case names its responsible people (七长/五级): the levels are there from the start,
    with the township and county known by org; the names are assigned over HTTP."""
    township, county = township_level(org_chain), county_level(org_chain)
    return {"responsible_person": None, "head_teacher": None, "principal": None,
            "township_official": {"org_code": township["code"]} if township else None,
            # The county-level area: the county, else the city or province that runs the school.
            "county_official": {"org_code": county["code"]} if county else None}
