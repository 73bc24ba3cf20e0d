"""The student directory and the org tree, from the registry's events, and what a registry
status change does to the child's open case."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from cases.adapters.tables import cases, orgs, recipient_offices, students
from cases.domain.lifecycle import UNCHECKED, CaseStatus, DropoutCause
from cases.domain.model import LINES
from cases.domain.moves import MoveRequest
from cases.usecases.common import add_timeline, child_of, open_case_of
from cases.usecases.moves import move_case
from shared.auth import path_key
from shared.events.registry import (
    ClassPromoted,
    OrgRegistered,
    StudentEnrolled,
    StudentFlagsChanged,
    StudentStatusChanged,
)
from shared.routes import Received
from shared.sql import upsert
from shared.statuses import ATTENDING
from shared.uow import UnitOfWork


async def on_org_registered(uow: UnitOfWork, event: Received[OrgRegistered]) -> None:
    """The org tree, as far as the reports need it. An office (kind ``office``, with a ``line``)
    becomes its area's recipient for that line unless the area has named one already."""
    d = event.data
    await upsert(uow.session, orgs, {"code": d.code}, {
        "kind": d.kind, "name": d.name, "parent_code": d.parent_code, "path": d.path, "line": d.line})
    if d.kind == "office" and d.line in {line.value for line in LINES} and d.parent_code:
        taken = (await uow.session.execute(select(recipient_offices.c.office_code).where(
            recipient_offices.c.area_code == d.parent_code, recipient_offices.c.line == d.line))).first()
        if taken is None:
            await uow.session.execute(insert(recipient_offices).values(
                area_code=d.parent_code, line=d.line, office_code=d.code, office_name=d.name,
                named_by="registry", named_at=uow.clock.now()))


async def on_student_enrolled(uow: UnitOfWork, event: Received[StudentEnrolled]) -> None:
    d = event.data
    values = {
        "name": d.name, "national_id_masked": d.national_id_masked, "gender": d.gender,
        "birth_date": str(d.birth_date), "school_code": d.school_code, "class_id": d.class_id,
        "grade": d.grade, "org_path": d.org_path, "org_chain": d.org_chain or [],
        "flags": d.flags, "guardians": d.guardians, "status": d.status,
    }
    await upsert(uow.session, students, {"student_id": d.student_id}, values)
    await _fill_child(uow, d.student_id, values)


async def _fill_child(uow: UnitOfWork, student_id: str, student: dict[str, Any]) -> None:
    """The registry and attendance topics are read independently, so a case can open on an
    absence before the registry's record of the child has been read: it holds only the grade.
    The record, when it arrives, fills in who the child is (lists, ledgers, registers read the
    case's copy); a case that already names the child keeps its copy."""
    rows = (await uow.session.execute(select(cases.c.id, cases.c.child, cases.c.status).where(
        cases.c.child_id == student_id))).mappings().all()
    for row in rows:
        if (row["child"] or {}).get("name") is not None:
            continue
        values: dict[str, Any] = {"child": child_of(student)}
        if row["status"] != CaseStatus.closed.value:
            values["flags"] = path_key(student["flags"] or [])
        await uow.session.execute(update(cases).where(cases.c.id == row["id"]).values(**values))


async def on_student_status_changed(uow: UnitOfWork, event: Received[StudentStatusChanged]) -> None:
    """The status, and the placement when it changed (a transfer confirmed by the receiving school);
    noted on the child's open case."""
    d = event.data
    placement = {"school_code": d.school_code, "class_id": d.class_id, "grade": d.grade, "org_path": d.org_path,
                 "org_chain": d.org_chain}
    values = {"status": d.status, **{k: v for k, v in placement.items() if v is not None}}
    await uow.session.execute(update(students).where(students.c.student_id == d.student_id).values(**values))
    # Whoever works the child's open case sees it (a confirmed transfer resolves an overdue one).
    open_case = await open_case_of(uow, d.student_id)
    if open_case is not None:
        await add_timeline(uow, open_case, "registry_status_changed", {
            "status": d.status, "previous_status": d.previous_status, "effective_on": d.effective_on,
            "reason": d.reason, "school_code": d.school_code})
        if d.status == "dropped_out":
            await _confirm_from_registry(uow, open_case, d)
        elif d.status in ATTENDING and d.previous_status == "dropped_out":
            await _return_from_registry(uow, open_case, d)


async def _return_from_registry(uow: UnitOfWork, case_id: str, d: StudentStatusChanged) -> None:
    """A confirmed dropout re-enrolled in the registry (劝返复学): the child is off attendance's roll
    while dropped out, so this, not a roll call, is the return. A case being persuaded (or after a
    legal notice) moves to returned with the re-enrolment's date as its evidence."""
    case = (await uow.session.execute(select(cases).where(cases.c.id == case_id))).mappings().one()
    if CaseStatus(case["status"]) not in (CaseStatus.persuading, CaseStatus.judicial_notice):
        return
    await move_case(uow, case, MoveRequest(
        CaseStatus.returned, actor="registry", note="re-enrolled in the registry",
        evidence={"returned_on": str(d.effective_on), "confirmed_by": "registry"}))


async def _confirm_from_registry(uow: UnitOfWork, case_id: str, d: StudentStatusChanged) -> None:
    """The registry recorded the child as dropped out: the open case, if still unchecked, is a
    confirmed dropout (one truth for reporting), and its reports go out like any confirmation.
    A registry change that the case itself caused finds the case confirmed already: nothing."""
    case = (await uow.session.execute(select(cases).where(cases.c.id == case_id))).mappings().one()
    if CaseStatus(case["status"]) not in UNCHECKED:
        return
    note = f"recorded in the registry as dropped out on {d.effective_on}: {d.reason or ''}".strip()
    await move_case(uow, case, MoveRequest(
        CaseStatus.confirmed, actor="registry", note="confirmed by the registry's dropped_out",
        causes=(DropoutCause.other.value,), cause_note=note[:2000]))


async def on_student_flags_changed(uow: UnitOfWork, event: Received[StudentFlagsChanged]) -> None:
    """The child's flags now: the directory and the open case (the ledger filters on them)."""
    d = event.data
    flags = d.flags or []
    await uow.session.execute(update(students).where(students.c.student_id == d.student_id).values(flags=flags))
    await uow.session.execute(update(cases).where(cases.c.child_id == d.student_id, cases.c.status != "closed")
                              .values(flags=path_key(flags)))




async def on_class_promoted(uow: UnitOfWork, event: Received[ClassPromoted]) -> None:
    """A class moved up a grade at year end: its children's grade in the directory follows."""
    d = event.data
    await uow.session.execute(update(students).where(students.c.class_id == d.class_id).values(grade=d.grade))
