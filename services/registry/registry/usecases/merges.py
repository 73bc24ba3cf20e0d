"""Children without an ID, and one child's two records made one (学籍合并).

A child enrolled without an ID (unregistered 户口, a foreign national) has a temporary student
number. When the ID arrives it is added to the record, checked against the birth date and gender
the school typed in. If the child turns out to hold another active record under that ID (enrolled
twice: the old school kept an empty record, 空挂学籍), the two are merged: the record being
identified is kept (the child is at that school now), the other one's history, flags and periods
move onto it, and ``student.merged {kept_id, merged_id}`` tells attendance, cases and reporting to
move everything of the merged id onto the kept one. A merge is one transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update

from registry.adapters.tables import (
    flag_history,
    off_roll_periods,
    status_history,
    student_flags,
    student_merges,
    students,
    transfers,
)
from registry.domain.model import ACTIVE_STATUSES, validate_enrollment
from registry.queries.orgs import get_org
from registry.queries.students import get_student, visible_student
from registry.usecases.records import placement
from registry.usecases.registration import OUTSIDE_REGION, student_number
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict
from shared.events.registry import StudentMerged
from shared.privacy import mask_national_id
from shared.uow import UnitOfWork


async def add_national_id(uow: UnitOfWork, student_id: str, national_id: str, caller: Principal) -> dict[str, Any]:
    student = await visible_student(uow, student_id, caller)
    if student["national_id"] is not None:
        raise Conflict("this record has its national ID already", student_id=student_id)
    today = uow.clock.now().date()
    nid = validate_enrollment(national_id=national_id, birth_date=student["birth_date"],
                              gender=student["gender"], today=today)
    other = (await uow.session.execute(
        select(students).where(students.c.national_id == nid.number,
                                 students.c.status.in_([s.value for s in ACTIVE_STATUSES])))).mappings().first()
    merged: list[dict[str, Any]] = []
    if other is not None:
        other_school = await get_org(uow, other["school_code"])
        if not caller.sees_org(other_school["path"]):
            # Merging takes the child's record away from that school: its own region decides.
            raise Conflict(f"the child already has an active record at {OUTSIDE_REGION}; the county bureau "
                           "merges the two (GET /v1/problem-records)", active_at=OUTSIDE_REGION)
        audit.note_place(other_school["path"])
        merged.append(await merge_records(uow, kept=student, merged=dict(other), source="national_id",
                                          reason="the national ID arrived: the same child", actor=caller.subject))
    await uow.session.execute(update(students).where(students.c.id == student_id).values(
        national_id=nid.number, student_number=student_number(nid.number, student["birth_date"]),
        updated_at=uow.clock.now()))
    await uow.commit()
    return {"student": await get_student(uow, student_id, caller), "merged": merged}


def _snapshot(record: dict[str, Any]) -> dict[str, Any]:
    """What the merged record was, for the audit (no full ID: the kept record carries it)."""
    return {"school_code": record["school_code"], "class_id": record["class_id"], "status": record["status"],
            "enrolled_on": record["enrolled_on"].isoformat(), "name": record["name"],
            "national_id_masked": mask_national_id(record["national_id"]) if record["national_id"] else None}


async def merge_records(uow: UnitOfWork, *, kept: dict[str, Any], merged: dict[str, Any], source: str, reason: str,
                        actor: str) -> dict[str, Any]:
    """Everything of ``merged`` onto ``kept``, in the caller's transaction; ``merged`` is gone after.

    The merged record's open business ends: a pending transfer is cancelled and a period off the
    roll closed (the child is where the kept record says). Its history, transfers, periods and flag
    history move over; its flags join the kept record's."""
    now, today = uow.clock.now(), uow.clock.now().date()
    kid, mid = kept["id"], merged["id"]
    await uow.session.execute(update(transfers).where(transfers.c.student_id == mid, transfers.c.status == "pending")
                              .values(status="cancelled", closed_at=now))
    await uow.session.execute(update(off_roll_periods).where(off_roll_periods.c.student_id == mid,
                                                             off_roll_periods.c.closed_at.is_(None))
                              .values(closed_on=today, closed_at=now))
    for table in (status_history, transfers, off_roll_periods, flag_history):
        await uow.session.execute(update(table).where(table.c.student_id == mid).values(student_id=kid))
    have = set((await uow.session.execute(select(student_flags.c.flag).where(student_flags.c.student_id == kid))
                ).scalars())
    theirs = (await uow.session.execute(select(student_flags).where(student_flags.c.student_id == mid))).mappings().all()
    await uow.session.execute(delete(student_flags).where(student_flags.c.student_id == mid))
    joining = [{**f, "student_id": kid} for f in theirs if f["flag"] not in have]
    if joining:
        await uow.session.execute(insert(student_flags), joining)
    await uow.session.execute(delete(students).where(students.c.id == mid))
    row = {"id": str(uuid.uuid4()), "kept_id": kid, "merged_id": mid, "source": source, "reason": reason,
           "merged_record": _snapshot(merged), "actor": actor, "merged_at": now}
    await uow.session.execute(insert(student_merges).values(**row))
    where = await placement(uow, kept["school_code"], kept["class_id"])
    # Keyed by the kept id: its events and this one stay in order on one partition.
    uow.emit(StudentMerged(
        kept_id=kid,
        merged_id=mid,
        source=source,
        reason=reason,
        merged_school_code=merged["school_code"],
        merged_status=merged["status"],
        status=kept["status"],
        school_code=where["school_code"],
        class_id=where["class_id"],
        grade=where["grade"],
        org_path=where["org_path"],
    ), subject=kid, key=kid)
    return {k: row[k] for k in ("kept_id", "merged_id", "source", "reason", "actor", "merged_at")}

