"""Changes to a student record (学籍异动): status changes (transfers are ``registry.usecases.transfers``).

Each change writes the record, a history row and a ``student.status_changed`` event in one
transaction. The event always carries the record's placement after the change, so a consumer
that missed an earlier event still lands the child in the right school.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select, update

from registry.adapters.tables import classes, status_history, students
from registry.domain.lifecycle import StatusChangeRequest, can_change, change_status
from registry.domain.model import StudentStatus
from registry.domain.off_roll import Period, Terms, check_terms, missing
from registry.queries.orgs import get_org, org_chain
from registry.queries.students import visible_student
from registry.usecases import off_roll
from shared.auth import Principal
from shared.events.cases import CaseStatusChanged
from shared.events.registry import StudentStatusChanged
from shared.routes import Received
from shared.uow import UnitOfWork

log = structlog.get_logger("baoxue.registry")



async def last_effective_on(uow: UnitOfWork, student: dict[str, Any]) -> date:
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


async def change_student_status(uow: UnitOfWork, student_id: str, cmd: StatusChangeRequest,
                                caller: Principal) -> dict[str, Any]:
    student = await visible_student(uow, student_id, caller)
    today = uow.clock.now().date()
    effective_on = cmd.effective_on or today
    change_status(StudentStatus(student["status"]), cmd.status, effective_on=effective_on,
                  reason=cmd.reason, today=today, last_effective_on=await last_effective_on(uow, student))
    terms = cmd.terms
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
    effective_on = min(max(since.astimezone(ZoneInfo(tz)).date(), await last_effective_on(uow, student)), today)
    causes = "、".join(CAUSE_LABELS.get(c, c) for c in d.causes or []) or "其他"
    reason = f"案件确认辍学（{causes}）" + (f"：{d.cause_note}" if d.cause_note else "")
    await write_change(uow, student, status=StudentStatus.dropped_out.value, effective_on=effective_on,
                       reason=reason[:500], actor=f"cases:{d.case_id}", school_code=student["school_code"],
                       class_id=student["class_id"])
