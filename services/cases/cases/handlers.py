"""Cases use cases: open a case (absence, registry, by hand), issue, acknowledge and escalate the
dual reports, move the case through its lifecycle, record the people and the work. Every event
the service emits is emitted here; reads live in ``cases.queries``."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import structlog
from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from shared import audit
from shared.auth import OFFICIALS, Forbidden, Principal, Role, path_codes, path_key
from shared.envelope import TOPIC_CASES, TOPIC_REPORTS, Event, stable_id
from shared.errors import Conflict, Invalid, NotFound
from shared.orgs import county_level, township_level
from shared.privacy import guardians_for
from shared.sql import upsert
from shared.uow import UnitOfWork

from cases.adapters.tables import (
    cases, dual_reports, home_visit_visitors, home_visits, orgs, plan_items, recipient_offices, standing_responsibility,
    students, timeline,
)
from cases.domain.lifecycle import (
    OUTCOMES, TIMESTAMP_COLUMN, UNCHECKED, CaseFacts, CaseStatus, DropoutCause, IllegalTransition, MissingData,
    check,
)
from cases.domain.model import (
    AREA_KINDS, LINES, Recipient, derived_office, dual_report_recipients, escalation_area, office_for,
    reports_on_decision,
)
from cases.domain.responsibility import Level, Standing, fill_chain, named_roles
from cases.queries import get_case

log = structlog.get_logger("baoxue.cases")

CASE_OPENED = "baoxue.cases.case.opened"
CASE_STATUS_CHANGED = "baoxue.cases.case.status_changed"
CASE_CLOSED = "baoxue.cases.case.closed"
REPORT_ISSUED = "baoxue.cases.dual_report.issued"
REPORT_ACKNOWLEDGED = "baoxue.cases.dual_report.acknowledged"
REPORT_ESCALATED = "baoxue.cases.dual_report.escalated"
REPORT_WITHDRAWN = "baoxue.cases.dual_report.withdrawn"
HOME_VISIT_RECORDED = "baoxue.cases.home_visit.recorded"
RESPONSIBILITY_ASSIGNED = "baoxue.cases.responsibility.assigned"
PLAN_ITEM_ADDED = "baoxue.cases.plan_item.added"
SYSTEM = "system"
# The default verification deadline; the service binds BAOXUE_VERIFY_DEADLINE_HOURS (bootstrap).
VERIFY_DEADLINE = timedelta(hours=24)
PLACEMENT = ("school_code", "class_id", "grade", "org_path", "org_chain")
ATTENDING = ("enrolled", "transferred_in")  # registry statuses of a child on a school's roll
# Moves that not everyone who works on a case may make: the close-out (销号) and reopening are
# the principal's or an official's (the school owns its ledger); a legal notice is issued by the
# government, so only officials record it. Every other move is open to whoever sees the case.
RESTRICTED_MOVES: dict[CaseStatus, frozenset[Role]] = {
    CaseStatus.closed: OFFICIALS | {Role.school_staff},
    CaseStatus.reported: OFFICIALS | {Role.school_staff},
    CaseStatus.judicial_notice: OFFICIALS,
}
# What a dual report says about the child when the student directory knows them.
STUDENT_FACTS = ("name", "national_id_masked", "gender", "birth_date", "flags", "guardians")


# --- registry events: the student directory ---------------------------------------------------

async def on_org_registered(uow: UnitOfWork, event: Event) -> None:
    """The org tree, as far as the reports need it. An office (kind ``office``, with a ``line``)
    becomes its area's recipient for that line unless the area has named one already."""
    d = event.data
    await upsert(uow.session, orgs, {"code": d["code"]}, {
        "kind": d["kind"], "name": d["name"], "parent_code": d.get("parent_code"), "path": d["path"],
        "line": d.get("line")})
    if d["kind"] == "office" and d.get("line") in {line.value for line in LINES} and d.get("parent_code"):
        taken = (await uow.session.execute(select(recipient_offices.c.office_code).where(
            recipient_offices.c.area_code == d["parent_code"], recipient_offices.c.line == d["line"]))).first()
        if taken is None:
            await uow.session.execute(insert(recipient_offices).values(
                area_code=d["parent_code"], line=d["line"], office_code=d["code"], office_name=d["name"],
                named_by="registry", named_at=uow.clock.now()))


async def on_student_enrolled(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    values = {
        "name": d["name"], "national_id_masked": d["national_id_masked"], "gender": d["gender"],
        "birth_date": str(d["birth_date"]), "school_code": d["school_code"], "class_id": d["class_id"],
        "grade": d["grade"], "org_path": d["org_path"], "org_chain": d.get("org_chain", []),
        "flags": d.get("flags", []), "guardians": d.get("guardians", []), "status": d.get("status", "enrolled"),
    }
    await upsert(uow.session, students, {"student_id": d["student_id"]}, values)
    await _fill_child(uow, d["student_id"], values)


async def _fill_child(uow: UnitOfWork, student_id: str, student: dict[str, Any]) -> None:
    """The registry and attendance topics are read independently, so a case can open on an
    absence before the registry's record of the child has been read: it holds only the grade.
    The record, when it arrives, fills in who the child is (lists, ledgers, registers read the
    case's copy); a case that already names the child keeps its copy."""
    rows = (await uow.session.execute(select(cases.c.id, cases.c.child, cases.c.status).where(
        cases.c.student_id == student_id))).mappings().all()
    for row in rows:
        if (row["child"] or {}).get("name") is not None:
            continue
        values: dict[str, Any] = {"child": _child_of(student)}
        if row["status"] != CaseStatus.closed.value:
            values["flags"] = path_key(student["flags"] or [])
        await uow.session.execute(update(cases).where(cases.c.id == row["id"]).values(**values))


async def on_student_status_changed(uow: UnitOfWork, event: Event) -> None:
    """The status, and the placement when it changed (a transfer confirmed by the receiving school);
    noted on the child's open case."""
    d = event.data
    values = {"status": d["status"], **{k: d[k] for k in PLACEMENT if d.get(k) is not None}}
    await uow.session.execute(update(students).where(students.c.student_id == d["student_id"]).values(**values))
    # Whoever works the child's open case sees it (a confirmed transfer resolves an overdue one).
    open_case = await _open_case_of(uow, d["student_id"])
    if open_case is not None:
        await _add_timeline(uow, open_case, "registry_status_changed", {
            k: d.get(k) for k in ("status", "previous_status", "effective_on", "reason", "school_code")})
        if d["status"] == "dropped_out":
            await _confirm_from_registry(uow, open_case, d)
        elif d["status"] in ATTENDING and d.get("previous_status") == "dropped_out":
            await _return_from_registry(uow, open_case, d)


async def _return_from_registry(uow: UnitOfWork, case_id: str, d: dict[str, Any]) -> None:
    """A confirmed dropout re-enrolled in the registry (劝返复学): the child is off attendance's roll
    while dropped out, so this, not a roll call, is the return. A case being persuaded (or after a
    legal notice) moves to returned with the re-enrolment's date as its evidence."""
    case = (await uow.session.execute(select(cases).where(cases.c.id == case_id))).mappings().one()
    if CaseStatus(case["status"]) not in (CaseStatus.persuading, CaseStatus.judicial_notice):
        return
    await _move(uow, case, CaseStatus.returned, actor="registry", reason=None, note="re-enrolled in the registry",
                evidence={"returned_on": str(d.get("effective_on")), "confirmed_by": "registry"})


async def _confirm_from_registry(uow: UnitOfWork, case_id: str, d: dict[str, Any]) -> None:
    """The registry recorded the child as dropped out: the open case, if still unchecked, is a
    confirmed dropout (one truth for reporting), and its reports go out like any confirmation.
    A registry change that the case itself caused finds the case confirmed already: nothing."""
    case = (await uow.session.execute(select(cases).where(cases.c.id == case_id))).mappings().one()
    if CaseStatus(case["status"]) not in UNCHECKED:
        return
    note = f"recorded in the registry as dropped out on {d.get('effective_on')}: {d.get('reason') or ''}".strip()
    await _move(uow, case, CaseStatus.confirmed, actor="registry", reason=None, evidence=None,
                note="confirmed by the registry's dropped_out", causes=[DropoutCause.other.value],
                cause_note=note[:2000])


async def on_student_flags_changed(uow: UnitOfWork, event: Event) -> None:
    """The child's flags now: the directory and the open case (the ledger filters on them)."""
    d = event.data
    flags = d.get("flags") or []
    await uow.session.execute(update(students).where(students.c.student_id == d["student_id"]).values(flags=flags))
    await uow.session.execute(update(cases).where(cases.c.student_id == d["student_id"], cases.c.status != "closed")
                              .values(flags=path_key(flags)))


async def on_student_merged(uow: UnitOfWork, event: Event) -> None:
    """Two records of one child made one: every case of the merged id becomes the kept id's. One
    child, one case: if both had an open case, the merged record's is closed with the outcome
    `merged`, each timeline naming the other, so nothing done on either is lost."""
    d = event.data
    kept, merged = d["kept_id"], d["merged_id"]
    kept_open, merged_open = await _open_case_of(uow, kept), await _open_case_of(uow, merged)
    now = uow.clock.now()
    if kept_open and merged_open:
        before = (await uow.session.execute(select(cases.c.status).where(cases.c.id == merged_open))).scalar_one()
        await uow.session.execute(update(cases).where(cases.c.id == merged_open).values(
            status=CaseStatus.closed.value, outcome="merged", closed_at=now, updated_at=now))
        await _add_timeline(uow, merged_open, "merged_into", {"case_id": kept_open, "student_id": kept}, at=now)
        await _add_timeline(uow, kept_open, "case_merged", {"case_id": merged_open, "student_id": merged}, at=now)
        uow.emit(topic=TOPIC_CASES, type=CASE_CLOSED, subject=kept,
                 data={"case_id": merged_open, "student_id": kept, "status": CaseStatus.closed.value,
                       "previous_status": before, "outcome": "merged",
                       "evidence": {"merged_into_case_id": kept_open, "kept_student_id": kept}, "at": now,
                       "actor": SYSTEM})
    await uow.session.execute(update(cases).where(cases.c.student_id == merged).values(student_id=kept))
    await uow.session.execute(delete(students).where(students.c.student_id == merged))
    still_open = kept_open or merged_open
    if still_open:
        await _add_timeline(uow, still_open, "student_merged", {"kept_id": kept, "merged_id": merged,
                                                                "reason": d.get("reason")}, at=now)


async def on_class_promoted(uow: UnitOfWork, event: Event) -> None:
    """A class moved up a grade at year end: its children's grade in the directory follows."""
    d = event.data
    await uow.session.execute(update(students).where(students.c.class_id == d["class_id"]).values(grade=d["grade"]))


async def on_transfer_overdue(uow: UnitOfWork, event: Event, *,
                             verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """A transfer out nobody confirmed receiving: where children disappear. Placement = the school left."""
    d = event.data
    detail = {k: d.get(k) for k in ("transfer_id", "from_school_code", "to_school_code", "requested_on",
                                    "days_pending", "overdue_after_days")}
    student = await _student(uow, d["student_id"])
    await _open_or_join(
        uow, student_id=d["student_id"], origin="transfer_overdue", detail=detail, source_ref=d["transfer_id"],
        placement={k: d.get(k) for k in PLACEMENT}, child=_child_of(student), verify_deadline=verify_deadline)


async def on_boarding_overdue(uow: UnitOfWork, event: Event, *,
                             verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """A child boarding elsewhere with no host's receipt (回执), or past the expected end and not
    back: nobody has confirmed where the child is (人籍分离). Placement = the home school."""
    d = event.data
    detail = {k: d.get(k) for k in ("period_id", "missing", "started_on", "expected_end", "host_school_code",
                                    "host_school_name", "host_region", "days_off", "overdue_after_days")}
    student = await _student(uow, d["student_id"])
    await _open_or_join(
        uow, student_id=d["student_id"], origin="boarding_overdue", detail=detail, source_ref=d["period_id"],
        placement={k: d.get(k) for k in PLACEMENT}, child=_child_of(student), verify_deadline=verify_deadline)


async def on_suspension_overdue(uow: UnitOfWork, event: Event, *,
                               verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """A suspension (休学) past its end date, or with none, and the child not back."""
    d = event.data
    detail = {k: d.get(k) for k in ("period_id", "started_on", "expected_end", "reason", "days_off",
                                    "overdue_after_days")}
    student = await _student(uow, d["student_id"])
    await _open_or_join(
        uow, student_id=d["student_id"], origin="suspension_overdue", detail=detail, source_ref=d["period_id"],
        placement={k: d.get(k) for k in PLACEMENT}, child=_child_of(student), verify_deadline=verify_deadline)


async def on_suspected_out_of_school(uow: UnitOfWork, event: Event, *,
                                    verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """A school-age child on a household list with no active record. There is no student record, so
    the case is keyed by the stable person_id, and its place is the region (no school, no class)."""
    d = event.data
    child = {k: d.get(k) for k in ("name", "national_id_masked", "gender", "birth_date", "address")}
    placement = {"school_code": d["region_code"], "class_id": None, "grade": None, "org_path": d["org_path"],
                 "org_chain": d.get("org_chain") or []}
    await _open_or_join(uow, student_id=d["person_id"], origin="suspected_out_of_school",
                        detail={"check_id": d["check_id"]}, source_ref=d["check_id"], placement=placement, child=child,
                        verify_deadline=verify_deadline)


# --- attendance events ----------------------------------------------------------------------

async def on_threshold_reached(uow: UnitOfWork, event: Event, *,
                              verify_deadline: timedelta = VERIFY_DEADLINE) -> None:
    """Open the student's case, to be checked by the verification deadline (the dual reports wait
    for the decision: ``_move``, ``issue_unverified_reports``), or, if a case is already open, add
    the new episode to its timeline. The partial unique index on open cases backs this up: a
    racing replica's insert fails, its consumer retries and takes the timeline branch.

    An alarm `detected_late` (the register was typed in after the child came back, or left the
    roll) opens its case with that end already on the timeline: the case is to be verified and
    closed with the return as its evidence."""
    d = event.data
    absence = {k: d.get(k) for k in ("episode_id", "episode_started_at", "hours", "absent_sessions",
                                      "last_absent_at", "threshold_hours", "counting", "due_at", "observed_at",
                                      "detected_late")}
    student = await _student(uow, d["student_id"])
    # The event's own placement first: the registry topic may not have been read yet.
    placement = {k: d.get(k) for k in PLACEMENT}
    placement["org_chain"] = d.get("org_chain") or (student["org_chain"] if student else [])
    case_id = await _open_or_join(uow, student_id=d["student_id"], origin="absence", detail=absence,
                                  placement=placement, child=_child_of(student, grade=d.get("grade")),
                                  episode_id=d.get("episode_id"), absence=absence, verify_deadline=verify_deadline)
    # A late-detected episode that had already ended (attendance's ``detected_late``): its end goes
    # on the timeline at once; a child back in class is known to be back, so the case waits for
    # the school rather than being reported at the deadline.
    if d.get("detected_late") and d.get("ended_at"):
        joined = case_id or await _open_case_of(uow, d["student_id"])
        end_reason = d.get("end_reason") or "returned"
        await _note_return(uow, joined, episode_id=d.get("episode_id"), reason=end_reason, returned_at=d["ended_at"])
        if end_reason == "returned":
            await _mark_back(uow, joined)


# What attendance's "the episode that fired has ended" means for a case, by its reason.
RETURN_TIMELINE = {
    "returned": "student_returned",      # seen in class again
    "withdrawn": "absence_withdrawn",    # leave granted late or a roll call corrected: verify, likely a false alarm
    "not_attending": "student_off_roll",  # the registry took the child off the roll (transfer, suspension...)
}


async def on_student_returned(uow: UnitOfWork, event: Event) -> None:
    """Attendance says the episode that opened the case has ended: noted on an open case's
    timeline. Only a real return (the child seen in class) moves a persuading case to returned
    by itself, with the return date as its evidence; a withdrawn alarm or a child taken off the
    roll is for the case's officials to judge (a false alarm, a transfer)."""
    d = event.data
    reason = d.get("reason", "returned")
    case = (await uow.session.execute(select(cases).where(
        cases.c.student_id == d["student_id"], cases.c.status != CaseStatus.closed.value))).mappings().first()
    if case is None:
        return
    if not await _note_return(uow, case["id"], episode_id=d.get("episode_id"), reason=reason,
                              returned_at=d.get("returned_at")):
        return
    if reason == "returned":
        await _mark_back(uow, case["id"])
    if case["status"] == CaseStatus.persuading.value and reason == "returned":
        returned_on = str(d["returned_at"])[:10]
        await _move(uow, case, CaseStatus.returned, actor=SYSTEM, reason=None, note="confirmed by attendance",
                    evidence={"returned_on": returned_on, "confirmed_by": "attendance",
                              "episode_id": d.get("episode_id")})


async def _note_return(uow: UnitOfWork, case_id: str, *, episode_id: str | None, reason: str,
                       returned_at: Any) -> bool:
    """Put an episode's end on the case's timeline once: a late-detected alarm brings its end
    along, and the `student.returned` that follows it says the same again."""
    kind = RETURN_TIMELINE.get(reason, "student_returned")
    noted = (await uow.session.execute(select(timeline.c.detail).where(
        timeline.c.case_id == case_id, timeline.c.kind == kind))).scalars()
    if episode_id is not None and any((detail or {}).get("episode_id") == episode_id for detail in noted):
        return False
    await _add_timeline(uow, case_id, kind, {"returned_at": returned_at, "episode_id": episode_id, "reason": reason})
    return True


async def _mark_back(uow: UnitOfWork, case_id: str | None) -> None:
    """The child is known to be back (first time only): the one place ``back_at`` is written. The
    verification deadline then issues nothing (``cases.domain.model.known_back``)."""
    if case_id is not None:
        await uow.session.execute(update(cases).where(cases.c.id == case_id, cases.c.back_at.is_(None))
                                  .values(back_at=uow.clock.now()))


# --- opening ----------------------------------------------------------------------------------

async def _open_or_join(uow: UnitOfWork, *, student_id: str, origin: str, detail: dict[str, Any],
                        placement: dict[str, Any], child: dict[str, Any] | None, actor: str = SYSTEM,
                        source_ref: str | None = None, episode_id: str | None = None,
                        absence: dict[str, Any] | None = None, verify_deadline: timedelta) -> str | None:
    """Open a case, or add ``detail`` to the student's open case (one open case per child).
    Returns the new case's id, None when it joined an open one. Every origin is checked by the
    same deadline and reported by the same rule."""
    now = uow.clock.now()
    open_case = await _open_case_of(uow, student_id)
    if open_case is not None:
        kind = "absence_episode_added" if origin == "absence" else f"{origin}_reported_again"
        await _add_timeline(uow, open_case, kind, detail, at=now, actor=actor)
        return None
    case_id = str(uuid.uuid4())
    org_path = placement["org_path"]
    chain = await _standing_chain(uow, student_id, placement, child)
    await uow.session.execute(insert(cases).values(
        id=case_id, student_id=student_id, status=CaseStatus.reported.value, origin=origin, episode_id=episode_id,
        school_code=placement["school_code"], class_id=placement.get("class_id"), org_path=path_key(org_path),
        org_chain=placement.get("org_chain") or [], child=child,
        flags=path_key((child or {}).get("flags") or []), source_ref=source_ref,
        responsibility=chain, opened_at=now, updated_at=now, verify_due_at=now + verify_deadline,
    ))
    await _add_timeline(uow, case_id, "opened", {"origin": origin, **detail, "verify_by": now + verify_deadline},
                        at=now, actor=actor)
    uow.emit(
        topic=TOPIC_CASES, type=CASE_OPENED, subject=student_id, event_id=stable_id("case.opened", case_id),
        data={"case_id": case_id, "student_id": student_id, "status": CaseStatus.reported.value,
              "origin": origin, "school_code": placement["school_code"], "org_path": org_path,
              "grade": placement.get("grade"), "opened_at": now, "absence": absence},
    )
    log.info("case.opened", case_id=case_id, origin=origin)
    return case_id


async def open_manually(uow: UnitOfWork, caller: Principal, student_id: str, note: str, *,
                        verify_deadline: timedelta) -> tuple[dict[str, Any], bool]:
    """A teacher or an official reports a child. If the child already has an open case the report
    joins its timeline (200) rather than opening another (201)."""
    student = await _student(uow, student_id)
    if student is None or not audit.sees(caller, student["org_path"], student["class_id"]):
        raise NotFound(f"no student with id {student_id} in the cases directory")
    placement = {k: student[k] for k in PLACEMENT}
    case_id = await _open_or_join(uow, student_id=student_id, origin="manual", detail={"note": note},
                                  placement=placement, child=_child_of(student), actor=caller.subject,
                                  verify_deadline=verify_deadline)
    if case_id is None:
        audit.answering(200)  # joined the open case: the route answers 200, not 201
    await uow.commit()
    return await get_case(uow, case_id or await _open_case_of(uow, student_id), caller), case_id is not None


async def _open_case_of(uow: UnitOfWork, student_id: str) -> str | None:
    return (await uow.session.execute(select(cases.c.id).where(
        cases.c.student_id == student_id, cases.c.status != CaseStatus.closed.value))).scalar_one_or_none()


async def _student(uow: UnitOfWork, student_id: str) -> Any:
    return (await uow.session.execute(select(students).where(students.c.student_id == student_id))).mappings().first()


def _child_of(student: Any, *, grade: int | None = None) -> dict[str, Any] | None:
    if student is None:
        return {"grade": grade} if grade is not None else None
    return {"name": student["name"], "national_id_masked": student["national_id_masked"],
            "gender": student["gender"], "birth_date": student["birth_date"], "grade": student["grade"],
            "flags": student["flags"]}


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


def _report_facts(student: Any, case: Any, opening: dict[str, Any]) -> dict[str, Any]:
    """What a recipient needs to act. The report leaves the system, so the national ID and the
    guardians' phones are masked; officials read the full record with their own token. When the
    registry's record has not been read the case's copy of the child fills what it can and
    ``missing_facts`` says what the recipient must ask the school for."""
    child = case["child"] or {}
    who = {"id": case["student_id"], "grade": child.get("grade") if student is None else student["grade"]}
    if student:
        who.update(name=student["name"], national_id_masked=student["national_id_masked"],
                   gender=student["gender"], birth_date=student["birth_date"],
                   flags=student["flags"], guardians=guardians_for(student["guardians"], None))
    else:
        who.update({k: child[k] for k in ("name", "national_id_masked", "gender", "birth_date", "flags")
                    if child.get(k) is not None})
    chain = case["org_chain"] or []
    school = next((o for o in chain if o.get("kind") == "school"), {"code": case["school_code"]})
    missing = [f"student.{k}" for k in STUDENT_FACTS if k not in who]
    if "name" not in school:
        missing.append("school.name")
    absence = None
    if case["origin"] == "absence":  # the episode as threshold_reached described it
        absence = {k: opening.get(k) for k in ("episode_id", "episode_started_at", "hours", "absent_sessions",
                                                "last_absent_at", "threshold_hours", "counting")}
    return {"student": who, "school": school, "class_id": case["class_id"], "origin": case["origin"],
            "opening": {k: v for k, v in opening.items() if k not in ("origin", "verify_by")},
            "absence": absence, "causes": case["causes"] or [], "cause_note": case["cause_note"],
            "missing_facts": missing}


async def _opening(uow: UnitOfWork, case_id: str) -> dict[str, Any]:
    """What the case was opened on (the first timeline entry): the absence, the transfer..."""
    return (await uow.session.execute(select(timeline.c.detail).where(
        timeline.c.case_id == case_id, timeline.c.kind == "opened").order_by(timeline.c.id).limit(1))
    ).scalar_one_or_none() or {}


# --- the dual reports -------------------------------------------------------------------------

async def _offices(uow: UnitOfWork, area_codes: set[str]) -> dict[tuple[str, str], tuple[str, str]]:
    rows = (await uow.session.execute(select(recipient_offices).where(
        recipient_offices.c.area_code.in_(sorted(area_codes))))).mappings()
    return {(r["area_code"], r["line"]): (r["office_code"], r["office_name"]) for r in rows}


async def _issue_reports(uow: UnitOfWork, case_id: str, *, unverified: bool) -> bool:
    """Issue the case's two reports, once: the claim (``reports_issued_at IS NULL``) makes a
    confirmation racing the deadline sweep, a redelivery or a second replica issue nothing more.
    Each goes to its line's office of the reporting area. Returns whether this call issued them."""
    now = uow.clock.now()
    claimed = (await uow.session.execute(
        update(cases).where(cases.c.id == case_id, cases.c.reports_issued_at.is_(None))
        .values(reports_issued_at=now).returning(cases.c.id))).first()
    if claimed is None:
        return False
    case = (await uow.session.execute(select(cases).where(cases.c.id == case_id))).mappings().one()
    path, chain = path_codes(case["org_path"]), case["org_chain"] or []
    area_codes = set(path)
    targets = dual_report_recipients(chain, path, await _offices(uow, area_codes))
    facts = _report_facts(await _student(uow, case["student_id"]), case, await _opening(uow, case_id))
    for target in targets:
        report_id = str(uuid.uuid4())
        await uow.session.execute(insert(dual_reports).values(
            id=report_id, case_id=case_id, recipient=target.recipient.value, recipient_org_code=target.org_code,
            recipient_org_name=target.org_name, issued_at=now, area_code=target.area_code, unverified=unverified,
        ))
        await _add_timeline(uow, case_id, "dual_report_issued", {
            "recipient": target.recipient.value, "org_code": target.org_code, "area_code": target.area_code,
            "unverified": unverified}, at=now)
        uow.emit(
            topic=TOPIC_REPORTS, type=REPORT_ISSUED, subject=case["student_id"], key=target.org_code,
            event_id=stable_id("dual_report.issued", case_id, target.recipient.value),
            data={"report_id": report_id, "case_id": case_id, "recipient": target.recipient.value,
                  "recipient_org_code": target.org_code, "recipient_org_name": target.org_name,
                  "area_code": target.area_code, "issued_at": now, "unverified": unverified,
                  "opened_at": case["opened_at"], **facts,
                  "acknowledge": f"/v1/cases/{case_id}/reports/{target.recipient.value}/ack"},
        )
    return True


async def _withdraw_reports(uow: UnitOfWork, case: Any, *, reason: str | None) -> None:
    """A false alarm decided after unverified reports went out: a correction to each recipient,
    once per report (claimed by ``withdrawn_at IS NULL``)."""
    now = uow.clock.now()
    withdrawn = (await uow.session.execute(
        update(dual_reports).where(dual_reports.c.case_id == case["id"], dual_reports.c.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
        .returning(dual_reports.c.id, dual_reports.c.recipient, dual_reports.c.recipient_org_code,
                   dual_reports.c.issued_at, dual_reports.c.unverified))).mappings().all()
    for report in sorted(withdrawn, key=lambda r: r["recipient"]):
        await _add_timeline(uow, case["id"], "dual_report_withdrawn", {
            "recipient": report["recipient"], "org_code": report["recipient_org_code"], "reason": reason}, at=now)
        uow.emit(
            topic=TOPIC_REPORTS, type=REPORT_WITHDRAWN, subject=case["student_id"], key=report["recipient_org_code"],
            event_id=stable_id("dual_report.withdrawn", report["id"]),
            data={"report_id": report["id"], "case_id": case["id"], "recipient": report["recipient"],
                  "recipient_org_code": report["recipient_org_code"], "issued_at": report["issued_at"],
                  "unverified": report["unverified"], "false_alarm_reason": reason, "withdrawn_at": now},
        )


async def issue_unverified_reports(uow: UnitOfWork) -> int:
    """The verification deadline: every unchecked case whose deadline has passed, whose reports
    have not gone out and whose child is not known to back, is reported now, marked unverified
    (``cases.domain.model.deadline_reports_due``, stated here as one set-based claim; a late or
    missed pass still finds them all, and each case is claimed by one transaction)."""
    now = uow.clock.now()
    due = (await uow.session.execute(
        select(cases.c.id).where(
            cases.c.reports_issued_at.is_(None), cases.c.verify_due_at <= now,
            cases.c.status.in_([s.value for s in UNCHECKED]),
            or_(cases.c.back_at.is_(None), cases.c.back_at > cases.c.verify_due_at))
        .order_by(cases.c.verify_due_at))).scalars().all()
    issued = 0
    for case_id in due:
        issued += await _issue_reports(uow, case_id, unverified=True)
    await uow.commit()
    if issued:
        log.info("dual_reports.issued_unverified", cases=issued)
    return issued


# --- the lifecycle ----------------------------------------------------------------------------

async def transition(uow: UnitOfWork, case_id: str, caller: Principal, *, to: CaseStatus, reason: str | None,
                     evidence: dict[str, Any] | None, note: str | None, reopen_window: timedelta,
                     verify_deadline: timedelta, causes: list[str] | None = None,
                     cause_note: str | None = None) -> dict[str, Any]:
    """Move a case. Asking for the state it is already in changes nothing (a retried request);
    an illegal move is a 409, a legal one missing its data a 422, and neither writes anything."""
    case = await _visible_case(uow, case_id, caller)
    if case["status"] != to.value:
        if to in RESTRICTED_MOVES and caller.role not in RESTRICTED_MOVES[to]:
            raise Forbidden(f"the {caller.role.value} role may not move a case to {to.value}")
        plans = (await uow.session.execute(
            select(func.count()).select_from(plan_items).where(plan_items.c.case_id == case_id))).scalar_one()
        merged = {**(case["evidence"] or {}), **(evidence or {})}
        facts = CaseFacts(status=CaseStatus(case["status"]),
                          responsible_person=(case["responsibility"] or {}).get("responsible_person"),
                          plan_items=plans, reason=reason, evidence=merged, closed_at=case["closed_at"],
                          causes=tuple(causes or ()), false_alarm_reason=case["false_alarm_reason"])
        try:
            check(facts, to, now=uow.clock.now(), reopen_window=reopen_window)
        except IllegalTransition as exc:
            raise Conflict(str(exc), current_status=case["status"]) from None
        except MissingData as exc:
            raise Invalid(str(exc), errors=exc.errors) from None
        await _move(uow, case, to, actor=caller.subject, reason=reason, evidence=evidence, note=note,
                    causes=causes, cause_note=cause_note, verify_deadline=verify_deadline)
        await uow.commit()
    return await get_case(uow, case_id, caller)


async def _move(uow: UnitOfWork, case: Any, to: CaseStatus, *, actor: str, reason: str | None,
                evidence: dict[str, Any] | None, note: str | None, causes: list[str] | None = None,
                cause_note: str | None = None, verify_deadline: timedelta | None = None) -> None:
    """Write one checked move: the state, its timestamp, a timeline entry and the event, and what
    the decision does to the dual reports (``reports_on_decision``). The UPDATE is conditional on
    the state read, so two officials moving the same case at once cannot both win."""
    now, current = uow.clock.now(), CaseStatus(case["status"])
    values: dict[str, Any] = {"status": to.value, "updated_at": now, TIMESTAMP_COLUMN[to]: now}
    if to is CaseStatus.confirmed:
        values.update(causes=list(causes or []), cause_note=cause_note)
    if evidence:
        values["evidence"] = {**(case["evidence"] or {}), **evidence}
    if to is CaseStatus.false_alarm:
        values["false_alarm_reason"] = reason
    if to in OUTCOMES or to is CaseStatus.false_alarm:
        values["outcome"] = to.value
    if to is CaseStatus.closed:
        values["closed_at"] = now
    reopened = current is CaseStatus.closed
    if reopened:  # a new round: the last close-out's outcome and evidence stay on the timeline
        values.update(outcome=None, evidence=None, false_alarm_reason=None, reopen_count=case["reopen_count"] + 1,
                      causes=None, cause_note=None, back_at=None)
        if case["reports_issued_at"] is None and verify_deadline is not None:
            values["verify_due_at"] = now + verify_deadline  # never reported: checked again by a deadline
    try:
        moved = (await uow.session.execute(
            update(cases).where(cases.c.id == case["id"], cases.c.status == current.value).values(**values)
            .returning(cases.c.id))).first()
    except IntegrityError:
        await uow.rollback()
        raise Conflict("the child already has another open case; it cannot be reopened") from None
    if moved is None:
        raise Conflict("the case changed meanwhile; read it again")
    detail = {"from": current.value, "to": to.value, "reason": reason, "evidence": evidence}
    if to is CaseStatus.confirmed:
        detail.update(causes=list(causes or []), cause_note=cause_note)
    await _add_timeline(uow, case["id"], "reopened" if reopened else "status_changed", detail,
                        at=now, actor=actor, note=note)
    if to is CaseStatus.closed:
        uow.emit(topic=TOPIC_CASES, type=CASE_CLOSED, subject=case["student_id"],
                 data={"case_id": case["id"], "student_id": case["student_id"], "status": to.value,
                       "previous_status": current.value, "outcome": case["outcome"],
                       "evidence": values.get("evidence", case["evidence"]), "at": now, "actor": actor})
    else:
        # A confirmation carries why and since when: the registry records the dropout from it,
        # as of the absence's start (or the case's opening).
        confirmed = to is CaseStatus.confirmed
        since = ((await _opening(uow, case["id"])).get("episode_started_at") or case["opened_at"]) if confirmed else None
        uow.emit(topic=TOPIC_CASES, type=CASE_STATUS_CHANGED, subject=case["student_id"],
                 data={"case_id": case["id"], "student_id": case["student_id"], "status": to.value,
                       "previous_status": current.value, "at": now, "actor": actor,
                       "causes": list(causes or []) if confirmed else None,
                       "cause_note": cause_note if confirmed else None,
                       "origin": case["origin"], "dropped_out_since": since})
    decision = reports_on_decision(to, reports_issued=case["reports_issued_at"] is not None)
    if decision == "issue":
        await _issue_reports(uow, case["id"], unverified=False)
    elif decision == "withdraw":
        await _withdraw_reports(uow, case, reason=reason)
    elif decision == "none":
        await _add_timeline(uow, case["id"], "dual_reports_not_issued", {
            "reason": reason, "why": "a false alarm decided before any report went out: no report was issued"},
            at=now, actor=actor)


async def _visible_case(uow: UnitOfWork, case_id: str, caller: Principal) -> Any:
    case = (await uow.session.execute(select(cases).where(cases.c.id == case_id))).mappings().first()
    if case is None or not audit.sees(caller, path_codes(case["org_path"]), case["class_id"]):
        raise NotFound(f"no case with id {case_id}")
    return case


# --- people and work --------------------------------------------------------------------------

async def assign_responsibility(uow: UnitOfWork, case_id: str, caller: Principal,
                                chain: dict[str, Any]) -> dict[str, Any]:
    """Replace the named people of the chain; levels not given keep what they had."""
    case = await _visible_case(uow, case_id, caller)
    now = uow.clock.now()
    merged = {**(case["responsibility"] or {}), **{k: v for k, v in chain.items() if v is not None}}
    values: dict[str, Any] = {"responsibility": merged, "updated_at": now}
    responsible = (merged.get("responsible_person") or {}).get("name")
    if responsible and case["responsible_assigned_at"] is None:
        values["responsible_assigned_at"] = now
    await uow.session.execute(update(cases).where(cases.c.id == case_id).values(**values))
    named = {k: v.get("name") for k, v in chain.items() if isinstance(v, dict) and v.get("name")}
    await _add_timeline(uow, case_id, "responsibility_assigned", named, actor=caller.subject)
    # Reporting's weekly 责任落实 counts cases with a 劝返责任人 and a plan from this and plan_item.added.
    # Keyed by the place (the school), as a standing assignment is: one place's chain stays ordered.
    uow.emit(topic=TOPIC_CASES, type=RESPONSIBILITY_ASSIGNED, subject=case["student_id"], key=case["school_code"], data={
        "scope": "case", "case_id": case_id, "student_id": case["student_id"], "org_code": case["school_code"],
        "org_path": path_codes(case["org_path"]), "class_id": case["class_id"], "level": None,
        "roles": named_roles(merged), "village_heads": _village_of(merged.get("village_head")),
        "responsible_person": responsible, "assigned_at": now,
        "actor": caller.subject})
    await uow.commit()
    return await get_case(uow, case_id, caller)


async def add_plan_item(uow: UnitOfWork, case_id: str, caller: Principal, item: dict[str, Any]) -> dict[str, Any]:
    case = await _visible_case(uow, case_id, caller)
    now, item_id = uow.clock.now(), str(uuid.uuid4())
    row = {"id": item_id, "case_id": case_id, **item, "done_at": None, "created_by": caller.subject, "created_at": now}
    await uow.session.execute(insert(plan_items).values(**row))
    await _add_timeline(uow, case_id, "plan_item_added",
                        {"item_id": item_id, "kind": item["kind"], "owner": item["owner"], "due_on": item["due_on"]},
                        actor=caller.subject)
    uow.emit(topic=TOPIC_CASES, type=PLAN_ITEM_ADDED, subject=case["student_id"], data={
        "case_id": case_id, "student_id": case["student_id"], "item_id": item_id, "kind": item["kind"],
        "owner": item["owner"], "due_on": item["due_on"], "added_at": now, "actor": caller.subject})
    await uow.commit()
    return row


async def set_plan_item_done(uow: UnitOfWork, case_id: str, item_id: str, caller: Principal,
                             done: bool) -> dict[str, Any]:
    await _visible_case(uow, case_id, caller)
    item = (await uow.session.execute(select(plan_items).where(
        plan_items.c.id == item_id, plan_items.c.case_id == case_id))).mappings().first()
    if item is None:
        raise NotFound(f"case {case_id} has no plan item {item_id}")
    if (item["done_at"] is not None) != done:
        done_at = uow.clock.now() if done else None
        await uow.session.execute(update(plan_items).where(plan_items.c.id == item_id).values(done_at=done_at))
        await _add_timeline(uow, case_id, "plan_item_done" if done else "plan_item_reopened", {"item_id": item_id},
                            actor=caller.subject)
        await uow.commit()
        item = {**item, "done_at": done_at}
    return dict(item)


async def add_home_visit(uow: UnitOfWork, case_id: str, caller: Principal, visit: dict[str, Any]) -> dict[str, Any]:
    case = await _visible_case(uow, case_id, caller)
    row = await _record_visit(uow, caller, visit, student_id=case["student_id"], case=case,
                              org_path=case["org_path"], class_id=case["class_id"])
    await uow.commit()
    return row


async def add_student_home_visit(uow: UnitOfWork, student_id: str, caller: Principal,
                                 visit: dict[str, Any]) -> dict[str, Any]:
    """A visit to any watched child, with or without a case (seed 002: every head teacher visits
    40 homes a term). When the child has an open case the visit is on it too."""
    student = await _student(uow, student_id)
    if student is None or not audit.sees(caller, student["org_path"], student["class_id"]):
        raise NotFound(f"no student with id {student_id} in the cases directory")
    case = (await uow.session.execute(select(cases).where(
        cases.c.student_id == student_id, cases.c.status != CaseStatus.closed.value))).mappings().first()
    row = await _record_visit(uow, caller, visit, student_id=student_id, case=case,
                              org_path=path_key(student["org_path"]), class_id=student["class_id"])
    await uow.commit()
    return row


async def _record_visit(uow: UnitOfWork, caller: Principal, visit: dict[str, Any], *, student_id: str,
                        case: Any, org_path: str, class_id: str | None) -> dict[str, Any]:
    # Never after today, wherever the school is (UTC+14 is the earliest "today" on earth): a
    # visit dated ahead would count toward the visit duty before it happened.
    if visit["visited_on"] > (uow.clock.now() + timedelta(hours=14)).date():
        raise Invalid("a home visit is recorded after it happened, not before",
                      errors=[{"field": "visited_on", "pointer": "/visited_on", "message": "after today"}])
    visit_id, case_id = str(uuid.uuid4()), case["id"] if case is not None else None
    row = {"id": visit_id, "case_id": case_id, "student_id": student_id, "org_path": org_path, "class_id": class_id,
           **visit, "recorded_by": caller.subject, "recorded_at": uow.clock.now()}
    await uow.session.execute(insert(home_visits).values(**row))
    await uow.session.execute(insert(home_visit_visitors), [
        {"visit_id": visit_id, "visitor": v, "visited_on": visit["visited_on"], "org_path": org_path,
         "class_id": class_id} for v in dict.fromkeys(visit["visitors"])])
    if case is None:
        # Reporting's home_visit.recorded counts work on cases; a visit to a child without one
        # is in the register (家访登记表) only.
        return row
    await _add_timeline(uow, case_id, "home_visit", {"visit_id": visit_id, "visited_on": visit["visited_on"],
                                                     "outcome": visit["outcome"]}, actor=caller.subject)
    # Reporting counts visits per week and the time from opening to the first visit.
    uow.emit(topic=TOPIC_CASES, type=HOME_VISIT_RECORDED, subject=case["student_id"], data={
        "case_id": case_id,
        "student_id": case["student_id"],
        "visit_id": visit_id,
        "visited_on": visit["visited_on"],
        "visited_at": visited_at(visit["visited_on"], row["recorded_at"]),
        "outcome": visit["outcome"],
    })
    return row


def _village_of(person: Any) -> dict[str, str]:
    if isinstance(person, dict) and person.get("village") and person.get("name"):
        return {person["village"]: person["name"]}
    return {}


def visited_at(visited_on: date, recorded_at: datetime) -> datetime:
    """The visit's instant as well as it is known: the recording time when the visit was recorded
    the same (UTC) day, else noon UTC of the visit date (a visit is recorded by date)."""
    if recorded_at.date() == visited_on:
        return recorded_at
    return datetime.combine(visited_on, time(12, 0), tzinfo=timezone.utc)


# --- acknowledgement and escalation -----------------------------------------------------------

async def acknowledge(uow: UnitOfWork, case_id: str, recipient: Recipient, caller: Principal) -> dict[str, Any]:
    """Idempotent: acknowledging twice changes nothing and emits nothing the second time. The
    recipient office itself acknowledges (a ``recipient`` token of that office), or an official of
    the office's area for it (a township, county, city or province official of that area); to
    anyone else the report does not exist."""
    report = (await uow.session.execute(
        select(dual_reports).where(dual_reports.c.case_id == case_id, dual_reports.c.recipient == recipient.value)
    )).mappings().first()
    case_path = (await uow.session.execute(select(cases.c.org_path).where(cases.c.id == case_id))).scalar_one_or_none()
    if report is None or not _acknowledges(caller, report, path_codes(case_path or "/")):
        raise NotFound(f"case {case_id} has no {recipient.value} report")
    audit.note_place(path_codes(case_path))
    if report["acknowledged_at"] is None:
        now = uow.clock.now()
        claimed = (await uow.session.execute(
            update(dual_reports).where(dual_reports.c.id == report["id"], dual_reports.c.acknowledged_at.is_(None))
            .values(acknowledged_at=now).returning(dual_reports.c.id)
        )).first()
        if claimed:
            case = (await uow.session.execute(select(cases.c.student_id).where(cases.c.id == case_id))).scalar_one()
            await _add_timeline(uow, case_id, "dual_report_acknowledged", {"recipient": recipient.value}, at=now)
            uow.emit(
                topic=TOPIC_REPORTS, type=REPORT_ACKNOWLEDGED, subject=case, key=report["recipient_org_code"],
                event_id=stable_id("dual_report.acknowledged", case_id, recipient.value),
                data={"report_id": report["id"], "case_id": case_id, "recipient": recipient.value,
                      "recipient_org_code": report["recipient_org_code"], "acknowledged_at": now},
            )
        await uow.commit()
    row = (await uow.session.execute(
        select(dual_reports).where(dual_reports.c.case_id == case_id, dual_reports.c.recipient == recipient.value)
    )).mappings().one()
    return dict(row)


def _acknowledges(caller: Principal, report: Any, case_path: list[str]) -> bool:
    """The office itself (its ``recipient`` token), or an official of the office's area, at
    whatever level: the area's own officials or those above it on the case's path."""
    if caller.role is Role.recipient:
        return caller.org == report["recipient_org_code"]
    area = report["area_code"] or report["recipient_org_code"]
    return caller.role in OFFICIALS and area in case_path and caller.org in case_path[: case_path.index(area) + 1]


async def escalate_overdue(uow: UnitOfWork, deadline: timedelta) -> int:
    """Escalate, once, every dual report of an open case left unacknowledged past the deadline.

    One conditional UPDATE claims them all (``escalated_at IS NULL``): with two replicas sweeping
    at once, PostgreSQL re-checks the condition after the row lock and SQLite serialises the
    writers, so each report is claimed by exactly one transaction, which also writes its events."""
    now = uow.clock.now()
    claimed = (await uow.session.execute(
        update(dual_reports)
        .where(dual_reports.c.acknowledged_at.is_(None), dual_reports.c.escalated_at.is_(None),
               dual_reports.c.issued_at <= now - deadline, dual_reports.c.withdrawn_at.is_(None),
               dual_reports.c.case_id.in_(select(cases.c.id).where(cases.c.status != CaseStatus.closed.value)))
        .values(escalated_at=now)
        .returning(dual_reports.c.id, dual_reports.c.case_id, dual_reports.c.recipient,
                   dual_reports.c.recipient_org_code, dual_reports.c.issued_at, dual_reports.c.area_code)
    )).mappings().all()
    if not claimed:
        return 0
    case_rows = {c["id"]: c for c in (await uow.session.execute(
        select(cases.c.id, cases.c.student_id, cases.c.org_path, cases.c.org_chain)
        .where(cases.c.id.in_({r["case_id"] for r in claimed})))).mappings()}
    offices = await _offices(uow, {c for row in case_rows.values() for c in path_codes(row["org_path"])})
    targets, entries = [], []
    for report in claimed:
        case = case_rows[report["case_id"]]
        names = {o["code"]: o.get("name") or o["code"] for o in case["org_chain"] or []}
        # Up its own line: the same line's office of the area above (双线). At the top of the
        # path there is no area above: the recipient is reminded instead.
        area = escalation_area(path_codes(case["org_path"]), report["area_code"] or report["recipient_org_code"])
        line = Recipient(report["recipient"])
        if area is None:
            target_code, target_name = report["recipient_org_code"], ""
        else:
            office = office_for(area, names.get(area, area), line, offices)
            target_code, target_name = office.org_code, office.org_name
        targets.append({"rid": report["id"], "code": target_code, "name": target_name})
        entries.append({"case_id": report["case_id"], "at": now, "kind": "dual_report_escalated", "actor": SYSTEM,
                        "detail": {"recipient": report["recipient"], "from_org_code": report["recipient_org_code"],
                                   "to_org_code": target_code, "to_area_code": area}})
        uow.emit(
            topic=TOPIC_REPORTS, type=REPORT_ESCALATED, subject=case["student_id"], key=target_code,
            event_id=stable_id("dual_report.escalated", report["id"]),
            data={"report_id": report["id"], "case_id": report["case_id"], "recipient": report["recipient"],
                  "recipient_org_code": report["recipient_org_code"], "escalated_to_org_code": target_code,
                  "escalated_to_area_code": area,
                  "escalated_to_org_name": target_name, "issued_at": report["issued_at"],
                  "deadline_hours": deadline.total_seconds() / 3600, "escalated_at": now},
        )
    await uow.session.execute(insert(timeline), entries)
    await uow.session.execute(
        update(dual_reports).where(dual_reports.c.id == bindparam("rid"))
        .values(escalated_to_org_code=bindparam("code"), escalated_to_org_name=bindparam("name")), targets)
    await uow.commit()
    log.info("dual_reports.escalated", count=len(claimed))
    return len(claimed)


# --- recipient offices ------------------------------------------------------------------------

async def _area(uow: UnitOfWork, area_code: str, caller: Principal) -> Any:
    """An area (township, county, city, province) the caller is an official of, or above."""
    area = (await uow.session.execute(select(orgs).where(orgs.c.code == area_code))).mappings().first()
    if area is None or area["kind"] not in AREA_KINDS or not audit.sees_org(caller, area["path"]):
        raise NotFound(f"no area with code {area_code}")
    return area


async def get_recipients(uow: UnitOfWork, area_code: str, caller: Principal) -> dict[str, Any]:
    """The area's two offices: as named, as registered, or the derived ``<area>-GOV``/``-EDU``."""
    area = await _area(uow, area_code, caller)
    rows = {r["line"]: r for r in (await uow.session.execute(select(recipient_offices).where(
        recipient_offices.c.area_code == area_code))).mappings()}
    out: dict[str, Any] = {"area_code": area_code, "area_name": area["name"], "area_kind": area["kind"]}
    for line in LINES:
        row = rows.get(line.value)
        office = office_for(area_code, area["name"], line)
        out[line.value] = ({"code": row["office_code"], "name": row["office_name"], "named_by": row["named_by"],
                            "named_at": row["named_at"], "derived": False} if row else
                           {"code": office.org_code, "name": office.org_name, "named_by": None, "named_at": None,
                            "derived": True})
    return out


async def put_recipients(uow: UnitOfWork, area_code: str, caller: Principal,
                         offices: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Name the area's two offices. They must be two different offices, neither the area itself;
    an office the registry knows must be registered under this area, for that line."""
    await _area(uow, area_code, caller)
    known = {r["code"]: r for r in (await uow.session.execute(select(orgs).where(
        orgs.c.code.in_([o["code"] for o in offices.values()])))).mappings()}
    errors = []
    for line in LINES:
        code = offices[line.value]["code"]
        org = known.get(code)
        problem = None
        if code == area_code:
            problem = "an office of the area, not the area itself"
        elif line is Recipient.education and code == offices[Recipient.government.value]["code"]:
            problem = "the education line's office must differ from the government line's"
        elif code == derived_office(area_code, Recipient.education if line is Recipient.government
                                    else Recipient.government):
            problem = "that is the other line's derived office"
        elif org is not None and (org["kind"] != "office" or org["parent_code"] != area_code
                                  or org["line"] != line.value):
            problem = f"{code} is not a {line.value} office registered under {area_code}"
        if problem:
            errors.append({"field": f"{line.value}.code", "pointer": f"/{line.value}/code", "message": problem})
    if errors:
        raise Invalid("; ".join(e["message"] for e in errors), errors=errors)
    now = uow.clock.now()
    for line in LINES:
        office = offices[line.value]
        name = office.get("name") or (known[office["code"]]["name"] if office["code"] in known else office["code"])
        await upsert(uow.session, recipient_offices, {"area_code": area_code, "line": line.value},
                     {"office_code": office["code"], "office_name": name, "named_by": caller.subject,
                      "named_at": now})
    await uow.commit()
    return await get_recipients(uow, area_code, caller)


# --- the timeline -----------------------------------------------------------------------------

async def _add_timeline(uow: UnitOfWork, case_id: str, kind: str, detail: dict[str, Any], *,
                        at: datetime | None = None, actor: str = SYSTEM, note: str | None = None) -> None:
    await uow.session.execute(insert(timeline).values(
        case_id=case_id, at=at or uow.clock.now(), kind=kind, actor=actor, detail=_jsonable(detail), note=note))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
