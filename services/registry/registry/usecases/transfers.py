"""Transfers with receipt (回执): one school asks, the other confirms or either cancels; and the
sweep that announces transfers pending past the deadline.

Each step writes the record, a history row and a ``student.status_changed`` event in one
transaction (``registry.usecases.records.write_change``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from registry.adapters.tables import classes, status_history, students, transfers
from registry.domain.lifecycle import Side, cancelling_side, check_transfer_out, confirming_side
from registry.domain.model import ACTIVE_STATUSES, OrgKind, StudentStatus
from registry.domain.transfers import TransferConfirmation, TransferInRequest, TransferRequest
from registry.queries.orgs import get_org
from registry.queries.students import visible_student
from registry.queries.transfers import get_transfer
from registry.usecases.records import last_effective_on, placement, write_change
from shared import audit
from shared.auth import Principal
from shared.envelope import stable_id
from shared.errors import Conflict, Invalid, NotFound
from shared.events.registry import TransferOverdue
from shared.text import name_key
from shared.uow import UnitOfWork


async def request_transfer(uow: UnitOfWork, student_id: str, cmd: TransferRequest, caller: Principal) -> dict[str, Any]:
    student = await visible_student(uow, student_id, caller)
    today = uow.clock.now().date()
    effective_on = cmd.effective_on or today
    check_transfer_out(StudentStatus(student["status"]), effective_on=effective_on, today=today,
                       last_effective_on=await last_effective_on(uow, student))
    if await _pending_transfer_of(uow, student_id):  # e.g. one the receiving school asked for
        raise Conflict("this child already has a pending transfer; it must be settled first")
    if cmd.to_school_code is not None:
        # The receiving school need not be in the caller's region (a move to another county),
        # but it must exist and be a school.
        target = await get_org(uow, cmd.to_school_code)
        if target["kind"] != OrgKind.school.value:
            raise Invalid(f"{cmd.to_school_code} is a {target['kind']}, not a school",
                          errors=[{"field": "to_school_code", "pointer": "/to_school_code", "message": "not a school"}])
        if cmd.to_school_code == student["school_code"]:
            raise Invalid("a transfer goes to another school; a change of class is not a transfer",
                          errors=[{"field": "to_school_code", "pointer": "/to_school_code",
                                   "message": "the student's own school"}])
    transfer = {
        "id": str(uuid.uuid4()), "student_id": student_id, "status": "pending",
        "from_school_code": student["school_code"], "from_class_id": student["class_id"],
        "to_school_code": cmd.to_school_code, "destination": cmd.destination, "reason": cmd.reason,
        "requested_on": effective_on, "requested_by": caller.subject, "requested_at": uow.clock.now(),
        "started_by": Side.sender.value,
    }
    await uow.session.execute(transfers.insert().values(**transfer))
    await write_change(uow, student, status=StudentStatus.transferred_out.value, effective_on=effective_on,
                        reason=cmd.reason, actor=caller.subject, school_code=student["school_code"],
                        class_id=student["class_id"], transfer_id=transfer["id"])
    await uow.commit()
    return await get_transfer(uow, transfer["id"])


async def request_transfer_in(uow: UnitOfWork, cmd: TransferInRequest, caller: Principal) -> dict[str, Any]:
    """The receiving school asks for a child's record (转入申请), the way the national system works:
    the record stays where it is until the sending school confirms (or the receiver withdraws).
    The child is named by ID number and name together, so a school cannot learn where a child is
    enrolled from an ID number alone."""
    klass = (await uow.session.execute(select(classes).where(classes.c.id == cmd.class_id))).mappings().first()
    school = klass and await get_org(uow, klass["school_code"])
    if klass is None or not caller.sees_org(school["path"]):
        raise NotFound(f"no class with id {cmd.class_id} in a school of yours")
    audit.note_place(school["path"])
    student = (await uow.session.execute(select(students).where(
        students.c.national_id == cmd.national_id, students.c.name_key == name_key(cmd.name),  # NFC
        students.c.status.in_([s.value for s in ACTIVE_STATUSES])))).mappings().first()
    if student is None:
        raise NotFound("no active student record with this national_id and name")
    student = dict(student)
    if student["school_code"] == klass["school_code"]:
        raise Invalid("the child is already at this school; a change of class is not a transfer",
                      errors=[{"field": "class_id", "pointer": "/class_id", "message": "the student's own school"}])
    today = uow.clock.now().date()
    effective_on = cmd.effective_on or today
    check_transfer_out(StudentStatus(student["status"]), effective_on=effective_on, today=today,
                       last_effective_on=await last_effective_on(uow, student))
    if await _pending_transfer_of(uow, student["id"]):
        raise Conflict("this child already has a pending transfer; it must be settled first")
    transfer = {
        "id": str(uuid.uuid4()), "student_id": student["id"], "status": "pending",
        "from_school_code": student["school_code"], "from_class_id": student["class_id"],
        "to_school_code": klass["school_code"], "to_class_id": klass["id"], "destination": None,
        "reason": cmd.reason, "requested_on": effective_on, "requested_by": caller.subject,
        "requested_at": uow.clock.now(), "started_by": Side.receiver.value,
    }
    await uow.session.execute(transfers.insert().values(**transfer))
    await uow.commit()
    return await get_transfer(uow, transfer["id"])


async def _pending_transfer_of(uow: UnitOfWork, student_id: str) -> str | None:
    return (await uow.session.execute(select(transfers.c.id).where(
        transfers.c.student_id == student_id, transfers.c.status == "pending"))).scalar_one_or_none()


async def _pending_in_scope(uow: UnitOfWork, transfer_id: str, caller: Principal, *, side: str) -> dict[str, Any]:
    row = (await uow.session.execute(select(transfers).where(transfers.c.id == transfer_id))).mappings().first()
    code = row and row[f"{side}_school_code"]
    place = (await get_org(uow, code))["path"] if code else None
    if place is None or not caller.sees_org(place):
        raise NotFound(f"no transfer with id {transfer_id} {'to' if side == 'to' else 'from'} a school of yours")
    audit.note_place(place)
    if row["status"] != "pending":
        raise Conflict(f"transfer {transfer_id} is already {row['status']}", transfer_status=row["status"])
    return dict(row)


SIDE_COLUMN = {Side.sender: "from", Side.receiver: "to"}


async def _pending_by_side(uow: UnitOfWork, transfer_id: str, caller: Principal, side_of) -> dict[str, Any]:
    """The pending transfer, if the caller is on the side ``side_of(started_by)`` names."""
    started_by = (await uow.session.execute(select(transfers.c.started_by).where(transfers.c.id == transfer_id))
                  ).scalar_one_or_none()
    side = side_of(Side(started_by)) if started_by else Side.receiver
    return await _pending_in_scope(uow, transfer_id, caller, side=SIDE_COLUMN[side])


async def confirm_transfer(uow: UnitOfWork, transfer_id: str, cmd: TransferConfirmation,
                           caller: Principal) -> dict[str, Any]:
    """The other side's receipt: the record moves to the receiving school, transferred in. A
    transfer the sending school filed is confirmed by the receiving one, into a class it names;
    one the receiving school asked for is confirmed by the sending one (转出审核)."""
    transfer = await _pending_by_side(uow, transfer_id, caller, confirming_side)
    by_sender = transfer["started_by"] == Side.receiver.value
    class_id = cmd.class_id or (transfer["to_class_id"] if by_sender else None)
    if class_id is None or (by_sender and class_id != transfer["to_class_id"]):
        raise Invalid("name the receiving school's class" if class_id is None
                      else "the receiving school chose the class when it asked",
                      errors=[{"field": "class_id", "pointer": "/class_id",
                               "message": "required" if class_id is None else "not the class asked for"}])
    klass = (await uow.session.execute(select(classes).where(classes.c.id == class_id))).mappings().first()
    if klass is None or klass["school_code"] != transfer["to_school_code"]:
        raise Invalid(f"class {class_id} is not a class of school {transfer['to_school_code']}",
                      errors=[{"field": "class_id", "pointer": "/class_id", "message": "not a class of this school"}])
    student = dict((await uow.session.execute(select(students).where(students.c.id == transfer["student_id"]))
                    ).mappings().one())
    today = uow.clock.now().date()
    left_on = transfer["requested_on"]
    if by_sender:
        # The record has not moved yet: it leaves now, no earlier than its last change.
        current = StudentStatus(student["status"])
        last = await last_effective_on(uow, student)
        left_on = max(left_on, last)
        check_transfer_out(current, effective_on=left_on, today=today, last_effective_on=last)
    effective_on = cmd.effective_on or (left_on if by_sender else today)
    if effective_on < left_on or effective_on > today:
        raise Invalid(f"effective_on must lie between the transfer ({left_on}) and today ({today})",
                      errors=[{"field": "effective_on", "pointer": "/effective_on", "message": "out of range"}])
    await uow.session.execute(update(transfers).where(transfers.c.id == transfer_id).values(
        status="confirmed", confirmed_on=effective_on, confirmed_by=caller.subject, to_class_id=class_id,
        closed_at=uow.clock.now()))
    if by_sender:  # both halves of the transfer, as when the sending school files it
        await write_change(uow, student, status=StudentStatus.transferred_out.value, effective_on=left_on,
                            reason=transfer["reason"], actor=caller.subject, school_code=student["school_code"],
                            class_id=student["class_id"], transfer_id=transfer_id)
        student = {**student, "status": StudentStatus.transferred_out.value}
    await write_change(uow, student, status=StudentStatus.transferred_in.value, effective_on=effective_on,
                        reason=transfer["reason"], actor=caller.subject, school_code=transfer["to_school_code"],
                        class_id=class_id, transfer_id=transfer_id)
    await uow.commit()
    return await get_transfer(uow, transfer_id)


async def cancel_transfer(uow: UnitOfWork, transfer_id: str, caller: Principal) -> dict[str, Any]:
    """The school that started a transfer withdraws it. One the sending school filed puts the
    child back in the status they had; one the receiving school asked for never moved the record."""
    transfer = await _pending_by_side(uow, transfer_id, caller, cancelling_side)
    if transfer["started_by"] == Side.receiver.value:
        await uow.session.execute(update(transfers).where(transfers.c.id == transfer_id).values(
            status="cancelled", closed_at=uow.clock.now()))
        await uow.commit()
        return await get_transfer(uow, transfer_id)
    before = (await uow.session.execute(
        select(status_history.c.previous_status).where(status_history.c.transfer_id == transfer_id)
        .order_by(status_history.c.id).limit(1))).scalar_one()
    student = (await uow.session.execute(select(students).where(students.c.id == transfer["student_id"]))
               ).mappings().one()
    await uow.session.execute(update(transfers).where(transfers.c.id == transfer_id).values(
        status="cancelled", closed_at=uow.clock.now()))
    await write_change(uow, dict(student), status=before, effective_on=transfer["requested_on"],
                        reason="transfer cancelled", actor=caller.subject, school_code=student["school_code"],
                        class_id=student["class_id"], transfer_id=transfer_id)
    await uow.commit()
    return await get_transfer(uow, transfer_id)


async def flag_overdue_transfers(uow: UnitOfWork, *, overdue_after_days: int) -> int:
    """One set-based claim of every transfer pending past the deadline and not yet flagged, then
    one event each, in the same transaction. Replicas racing here claim disjoint rows, so each
    transfer is announced once; the event id is the transfer's, so a replay changes nothing."""
    now = uow.clock.now()
    cutoff = now.date() - timedelta(days=overdue_after_days)
    claimed = (await uow.session.execute(
        update(transfers)
        .where(transfers.c.status == "pending", transfers.c.overdue_at.is_(None), transfers.c.requested_on <= cutoff)
        .values(overdue_at=now)
        .returning(transfers.c.id, transfers.c.student_id, transfers.c.from_school_code, transfers.c.from_class_id,
                   transfers.c.to_school_code, transfers.c.requested_on, transfers.c.started_by))).all()
    for t in claimed:
        where = await placement(uow, t.from_school_code, t.from_class_id)
        uow.emit(TransferOverdue(
                     transfer_id=t.id,
                     student_id=t.student_id,
                     from_school_code=t.from_school_code,
                     to_school_code=t.to_school_code,
                     requested_on=t.requested_on,
                     days_pending=(now.date() - t.requested_on).days,
                     overdue_after_days=overdue_after_days,
                     started_by=t.started_by,
                     school_code=where["school_code"],
                     class_id=where["class_id"],
                     grade=where["grade"],
                     org_path=where["org_path"],
                     org_chain=where["org_chain"],
                 ), subject=t.student_id, key=t.student_id,
                 event_id=stable_id("transfer-overdue", t.id))
    await uow.commit()
    return len(claimed)
