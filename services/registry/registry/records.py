"""Changes to a student record (学籍异动): status changes and transfers with receipt (回执).

Each change writes the record, a history row and a ``student.status_changed`` event in one
transaction. The event always carries the record's placement after the change, so a consumer
that missed an earlier event still lands the child in the right school.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from sqlalchemy import and_, or_, select, update

from shared import audit
from shared.auth import Principal
from shared.envelope import stable_id
from shared.events.cases import CaseStatusChanged
from shared.events.registry import StudentStatusChanged, TransferOverdue
from shared.errors import Conflict, Invalid, NotFound
from shared.pagination import PageParams
from shared.sql import fetch_page
from shared.text import name_key
from shared.uow import UnitOfWork

from registry import off_roll
from registry.adapters.tables import classes, orgs, status_history, students, transfers
from shared.routes import Received

from registry.domain.lifecycle import (
    Side, can_change, cancelling_side, change_status, check_transfer_out, confirming_side,
)
from registry.domain.model import ACTIVE_STATUSES, OrgKind, StudentStatus
from registry.domain.off_roll import Period, Terms, check_terms, missing
from registry.entrypoints.schemas import StatusChangeIn, TransferConfirmIn, TransferIn, TransferRequestIn
from registry.handlers import get_org, org_chain

log = structlog.get_logger("baoxue.registry")



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
                        transfer_id: str | None = None, terms: Terms | None = None) -> dict[str, Any]:
    """Every status change goes through here, so the period off the roll (boarding, suspension)
    always follows the status, whichever route changed it."""
    now = uow.clock.now()
    await uow.session.execute(update(students).where(students.c.id == student["id"]).values(
        status=status, school_code=school_code, class_id=class_id, updated_at=now))
    change = {"student_id": student["id"], "previous_status": student["status"], "status": status,
              "effective_on": effective_on, "reason": reason, "actor": actor, "school_code": school_code,
              "transfer_id": transfer_id, "recorded_at": now}
    await uow.session.execute(status_history.insert().values(**change))
    period_id = await off_roll.follow_status(uow, student, status=status, effective_on=effective_on, reason=reason,
                                             actor=actor, terms=terms)
    where = await placement(uow, school_code, class_id)
    uow.emit(StudentStatusChanged(
        student_id=student["id"],
        status=status,
        previous_status=student["status"],
        effective_on=effective_on,
        reason=reason,
        actor=actor,
        school_code=where["school_code"],
        class_id=where["class_id"],
        grade=where["grade"],
        org_path=where["org_path"],
        org_chain=where["org_chain"],
    ), subject=student["id"])
    return {**change, "period_id": period_id}


async def change_student_status(uow: UnitOfWork, student_id: str, cmd: StatusChangeIn,
                                caller: Principal) -> dict[str, Any]:
    student = await _record_in_scope(uow, student_id, caller)
    today = uow.clock.now().date()
    effective_on = cmd.effective_on or today
    change_status(StudentStatus(student["status"]), cmd.status, effective_on=effective_on,
                  reason=cmd.reason, today=today, last_effective_on=await _last_effective_on(uow, student))
    terms = cmd.terms()
    check_terms(cmd.status, terms, effective_on=effective_on)
    await off_roll.check_host(uow, terms.host_school_code, own_school=student["school_code"])
    change = await write_change(uow, student, status=cmd.status.value, effective_on=effective_on,
                                 reason=cmd.reason, actor=caller.subject, school_code=student["school_code"],
                                 class_id=student["class_id"], terms=terms)
    await uow.commit()
    if change["period_id"] is None:
        return change
    # What the change left out, so an app that sent the old shape learns what will be asked for.
    period = Period(kind=cmd.status, started_on=effective_on, expected_end=terms.expected_end,
                    names_host=terms.names_host)
    return {**change, "missing": missing(period, today)}


# Why a case confirmed the dropout, in the record's own words (the status history's reason).
CAUSE_LABELS = {"poverty": "因贫", "weariness_of_study": "厌学", "left_to_work": "外出务工", "illness": "疾病",
                "disability": "残疾", "family": "家庭变故", "early_marriage": "早婚", "other": "其他"}


async def on_case_status_changed(uow: UnitOfWork, event: Received[CaseStatusChanged], *,
                                 tz: str = "Asia/Shanghai") -> None:
    """The registry follows a confirmed dropout (one truth for reporting): the record becomes
    ``dropped_out`` as of the absence's start (the case's opening for other origins), unless it
    says so already. The date is moved up to the record's last change if it was earlier, as a
    school filing late would; a record whose status cannot become dropped out (graduated, taught
    at home...) is left alone. A suspected out-of-school child has no record: nothing to do."""
    d = event.data
    if d.status != "confirmed":
        return
    student = (await uow.session.execute(select(students).where(students.c.id == d.student_id))).mappings().first()
    if student is None or student["status"] == StudentStatus.dropped_out.value:
        return
    if not can_change(StudentStatus(student["status"]), StudentStatus.dropped_out):
        log.info("registry.case_confirmation_not_applied", student_id=d.student_id, status=student["status"])
        return
    student = dict(student)
    since = d.dropped_out_since or d.at or event.time
    today = uow.clock.now().astimezone(ZoneInfo(tz)).date()
    effective_on = min(max(since.astimezone(ZoneInfo(tz)).date(), await _last_effective_on(uow, student)), today)
    causes = "、".join(CAUSE_LABELS.get(c, c) for c in d.causes or []) or "其他"
    reason = f"案件确认辍学（{causes}）" + (f"：{d.cause_note}" if d.cause_note else "")
    await write_change(uow, student, status=StudentStatus.dropped_out.value, effective_on=effective_on,
                       reason=reason[:500], actor=f"cases:{d.case_id}", school_code=student["school_code"],
                       class_id=student["class_id"])


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


async def request_transfer_in(uow: UnitOfWork, cmd: TransferRequestIn, caller: Principal) -> dict[str, Any]:
    """The receiving school asks for a child's record (转入申请), the way the national system works:
    the record stays where it is until the sending school confirms (or the receiver withdraws).
    The child is named by ID number and name together, so a school cannot learn where a child is
    enrolled from an ID number alone."""
    klass = (await uow.session.execute(select(classes).where(classes.c.id == cmd.class_id))).mappings().first()
    school = klass and await get_org(uow, klass["school_code"])
    if klass is None or not audit.sees_org(caller, school["path"]):
        raise NotFound(f"no class with id {cmd.class_id} in a school of yours")
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
                       last_effective_on=await _last_effective_on(uow, student))
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


SIDE_COLUMN = {Side.sender: "from", Side.receiver: "to"}


async def _pending_by_side(uow: UnitOfWork, transfer_id: str, caller: Principal, side_of) -> dict[str, Any]:
    """The pending transfer, if the caller is on the side ``side_of(started_by)`` names."""
    started_by = (await uow.session.execute(select(transfers.c.started_by).where(transfers.c.id == transfer_id))
                  ).scalar_one_or_none()
    side = side_of(Side(started_by)) if started_by else Side.receiver
    return await _pending_in_scope(uow, transfer_id, caller, side=SIDE_COLUMN[side])


async def confirm_transfer(uow: UnitOfWork, transfer_id: str, cmd: TransferConfirmIn,
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
        last = await _last_effective_on(uow, student)
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


async def list_transfers(uow: UnitOfWork, page: PageParams, caller: Principal, *, overdue_after_days: int,
                         status: str | None, overdue: bool | None, school_code: str | None,
                         ) -> tuple[list[dict[str, Any]], int]:
    today = uow.clock.now().date()
    cutoff = today - timedelta(days=overdue_after_days)
    sender = orgs.alias("sender")
    receiver = orgs.alias("receiver")
    conditions = [or_(caller.within(sender.c.path), caller.within(receiver.c.path))]
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
