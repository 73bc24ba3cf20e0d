"""Changes to a student record (学籍异动): status changes and transfers with receipt (回执).

Each change writes the record, a history row and a ``student.status_changed`` event in one
transaction. The event always carries the record's placement after the change, so a consumer
that missed an earlier event still lands the child in the right school.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from shared import audit
from shared.auth import Principal
from shared.envelope import TOPIC_REGISTRY, stable_id
from shared.errors import Conflict, Invalid, NotFound
from shared.pagination import PageParams
from shared.sql import fetch_page
from shared.uow import UnitOfWork

from registry.adapters.tables import classes, orgs, status_history, students, transfers
from registry.domain.lifecycle import change_status, check_transfer_out
from registry.domain.model import OrgKind, StudentStatus
from registry.entrypoints.schemas import StatusChangeIn, TransferConfirmIn, TransferIn
from registry.handlers import get_org, org_chain

STUDENT_STATUS_CHANGED = "baoxue.registry.student.status_changed"
TRANSFER_OVERDUE = "baoxue.registry.transfer.overdue"


async def _record_in_scope(uow: UnitOfWork, student_id: str, caller: Principal) -> dict[str, Any]:
    row = (await uow.session.execute(
        select(students, orgs.c.path.label("school_path"))
        .join(orgs, orgs.c.code == students.c.school_code)
        .where(students.c.id == student_id))).mappings().first()
    if row is None or not audit.sees(caller, row["school_path"], row["class_id"]):
        raise NotFound(f"no student with id {student_id}")
    return dict(row)


async def _last_effective_on(uow: UnitOfWork, student: dict[str, Any]) -> date:
    last = (await uow.session.execute(
        select(status_history.c.effective_on).where(status_history.c.student_id == student["id"])
        .order_by(status_history.c.id.desc()).limit(1))).scalar_one_or_none()
    return last or student["enrolled_on"]


async def placement(uow: UnitOfWork, school_code: str, class_id: str) -> dict[str, Any]:
    school = await get_org(uow, school_code)
    grade = (await uow.session.execute(select(classes.c.grade).where(classes.c.id == class_id))).scalar_one()
    return {"school_code": school_code, "class_id": class_id, "grade": grade, "org_path": school["path"],
            "org_chain": await org_chain(uow, school["path"])}


async def write_change(uow: UnitOfWork, student: dict[str, Any], *, status: str, effective_on: date,
                        reason: str | None, actor: str, school_code: str, class_id: str,
                        transfer_id: str | None = None) -> dict[str, Any]:
    now = uow.clock.now()
    await uow.session.execute(update(students).where(students.c.id == student["id"]).values(
        status=status, school_code=school_code, class_id=class_id, updated_at=now))
    change = {"student_id": student["id"], "previous_status": student["status"], "status": status,
              "effective_on": effective_on, "reason": reason, "actor": actor, "school_code": school_code,
              "transfer_id": transfer_id, "recorded_at": now}
    await uow.session.execute(status_history.insert().values(**change))
    where = await placement(uow, school_code, class_id)
    uow.emit(topic=TOPIC_REGISTRY, type=STUDENT_STATUS_CHANGED, subject=student["id"], data={
        "student_id": student["id"],
        "status": status,
        "previous_status": student["status"],
        "effective_on": effective_on,
        "reason": reason,
        "actor": actor,
        "school_code": where["school_code"],
        "class_id": where["class_id"],
        "grade": where["grade"],
        "org_path": where["org_path"],
        "org_chain": where["org_chain"],
    })
    return change


async def change_student_status(uow: UnitOfWork, student_id: str, cmd: StatusChangeIn,
                                caller: Principal) -> dict[str, Any]:
    student = await _record_in_scope(uow, student_id, caller)
    today = uow.clock.now().date()
    change_status(StudentStatus(student["status"]), cmd.status, effective_on=cmd.effective_on or today,
                  reason=cmd.reason, today=today, last_effective_on=await _last_effective_on(uow, student))
    change = await write_change(uow, student, status=cmd.status.value, effective_on=cmd.effective_on or today,
                                 reason=cmd.reason, actor=caller.subject, school_code=student["school_code"],
                                 class_id=student["class_id"])
    await uow.commit()
    return change


async def status_history_of(uow: UnitOfWork, student_id: str, caller: Principal) -> list[dict[str, Any]]:
    await _record_in_scope(uow, student_id, caller)
    rows = (await uow.session.execute(
        select(status_history).where(status_history.c.student_id == student_id)
        .order_by(status_history.c.id))).mappings().all()
    return [dict(r) for r in rows]


# --- transfers --------------------------------------------------------------------------------

async def request_transfer(uow: UnitOfWork, student_id: str, cmd: TransferIn, caller: Principal) -> dict[str, Any]:
    student = await _record_in_scope(uow, student_id, caller)
    today = uow.clock.now().date()
    effective_on = cmd.effective_on or today
    check_transfer_out(StudentStatus(student["status"]), effective_on=effective_on, today=today,
                       last_effective_on=await _last_effective_on(uow, student))
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
    }
    await uow.session.execute(transfers.insert().values(**transfer))
    await write_change(uow, student, status=StudentStatus.transferred_out.value, effective_on=effective_on,
                        reason=cmd.reason, actor=caller.subject, school_code=student["school_code"],
                        class_id=student["class_id"], transfer_id=transfer["id"])
    await uow.commit()
    return await get_transfer(uow, transfer["id"])


async def get_transfer(uow: UnitOfWork, transfer_id: str, caller: Principal | None = None) -> dict[str, Any]:
    row = (await uow.session.execute(select(transfers).where(transfers.c.id == transfer_id))).mappings().first()
    if row is None or (caller is not None and not await _sees_transfer(uow, dict(row), caller)):
        raise NotFound(f"no transfer with id {transfer_id}")
    return _present_transfer(dict(row), uow.clock.now().date(), None)


async def _sees_transfer(uow: UnitOfWork, transfer: dict[str, Any], caller: Principal) -> bool:
    """The sending side and the receiving side both see a transfer."""
    for code in (transfer["from_school_code"], transfer["to_school_code"]):
        if code and audit.sees_org(caller, (await get_org(uow, code))["path"]):
            return True
    return False


async def _pending_in_scope(uow: UnitOfWork, transfer_id: str, caller: Principal, *, side: str) -> dict[str, Any]:
    row = (await uow.session.execute(select(transfers).where(transfers.c.id == transfer_id))).mappings().first()
    code = row and row[f"{side}_school_code"]
    if row is None or code is None or not audit.sees_org(caller, (await get_org(uow, code))["path"]):
        raise NotFound(f"no transfer with id {transfer_id} {'to' if side == 'to' else 'from'} a school of yours")
    if row["status"] != "pending":
        raise Conflict(f"transfer {transfer_id} is already {row['status']}", transfer_status=row["status"])
    return dict(row)


async def confirm_transfer(uow: UnitOfWork, transfer_id: str, cmd: TransferConfirmIn,
                           caller: Principal) -> dict[str, Any]:
    """The receiving school's receipt: the record moves there and the child is transferred in."""
    transfer = await _pending_in_scope(uow, transfer_id, caller, side="to")
    klass = (await uow.session.execute(select(classes).where(classes.c.id == cmd.class_id))).mappings().first()
    if klass is None or klass["school_code"] != transfer["to_school_code"]:
        raise Invalid(f"class {cmd.class_id} is not a class of school {transfer['to_school_code']}",
                      errors=[{"field": "class_id", "pointer": "/class_id", "message": "not a class of this school"}])
    today = uow.clock.now().date()
    effective_on = cmd.effective_on or today
    if effective_on < transfer["requested_on"] or effective_on > today:
        raise Invalid(f"effective_on must lie between the transfer ({transfer['requested_on']}) and today ({today})",
                      errors=[{"field": "effective_on", "pointer": "/effective_on", "message": "out of range"}])
    student = (await uow.session.execute(select(students).where(students.c.id == transfer["student_id"]))
               ).mappings().one()
    await uow.session.execute(update(transfers).where(transfers.c.id == transfer_id).values(
        status="confirmed", confirmed_on=effective_on, confirmed_by=caller.subject, to_class_id=cmd.class_id,
        closed_at=uow.clock.now()))
    await write_change(uow, dict(student), status=StudentStatus.transferred_in.value, effective_on=effective_on,
                        reason=transfer["reason"], actor=caller.subject, school_code=transfer["to_school_code"],
                        class_id=cmd.class_id, transfer_id=transfer_id)
    await uow.commit()
    return await get_transfer(uow, transfer_id)


async def cancel_transfer(uow: UnitOfWork, transfer_id: str, caller: Principal) -> dict[str, Any]:
    """The sending school withdraws a transfer that never happened: the child is back where they were."""
    transfer = await _pending_in_scope(uow, transfer_id, caller, side="from")
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


async def list_transfers(uow: UnitOfWork, page: PageParams, caller: Principal, *, overdue_after_days: int,
                         status: str | None, overdue: bool | None, school_code: str | None,
                         ) -> tuple[list[dict[str, Any]], int]:
    today = uow.clock.now().date()
    cutoff = today - timedelta(days=overdue_after_days)
    sender = orgs.alias("sender")
    receiver = orgs.alias("receiver")
    fragment = caller.path_fragment
    conditions = [or_(sender.c.path_key.contains(fragment, autoescape=True),
                      receiver.c.path_key.contains(fragment, autoescape=True))]
    if status:
        conditions.append(transfers.c.status == status)
    if overdue is not None:
        is_overdue = and_(transfers.c.status == "pending", transfers.c.requested_on <= cutoff)
        conditions.append(is_overdue if overdue else ~is_overdue)
    if school_code:
        conditions.append(or_(transfers.c.from_school_code == school_code, transfers.c.to_school_code == school_code))
    stmt = (select(transfers).join(sender, sender.c.code == transfers.c.from_school_code)
            .outerjoin(receiver, receiver.c.code == transfers.c.to_school_code)
            .where(*conditions).order_by(transfers.c.requested_on, transfers.c.id))
    rows, total = await fetch_page(uow.session, stmt, limit=page.limit, offset=page.offset)
    return [_present_transfer(dict(r), today, overdue_after_days) for r in rows], total


def _present_transfer(row: dict[str, Any], today: date, overdue_after_days: int | None) -> dict[str, Any]:
    pending = row["status"] == "pending"
    days = (today - row["requested_on"]).days if pending else None
    overdue = bool(pending and overdue_after_days is not None and days >= overdue_after_days) or \
        row.get("overdue_at") is not None and pending
    return {**row, "days_pending": days, "overdue": overdue}


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
                   transfers.c.to_school_code, transfers.c.requested_on))).all()
    for t in claimed:
        where = await placement(uow, t.from_school_code, t.from_class_id)
        uow.emit(topic=TOPIC_REGISTRY, type=TRANSFER_OVERDUE, subject=t.student_id, key=t.student_id,
                 event_id=stable_id("transfer-overdue", t.id), data={
                     "transfer_id": t.id,
                     "student_id": t.student_id,
                     "from_school_code": t.from_school_code,
                     "to_school_code": t.to_school_code,
                     "requested_on": t.requested_on,
                     "days_pending": (now.date() - t.requested_on).days,
                     "overdue_after_days": overdue_after_days,
                     "school_code": where["school_code"],
                     "class_id": where["class_id"],
                     "grade": where["grade"],
                     "org_path": where["org_path"],
                     "org_chain": where["org_chain"],
                 })
    await uow.commit()
    return len(claimed)
