"""Home visits (家访登记), to a child with a case or without one."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select

from cases.adapters.tables import cases, home_visit_visitors, home_visits
from cases.domain.lifecycle import CaseStatus
from cases.domain.work import HomeVisit
from cases.queries.scope import student_in_scope
from cases.usecases.common import add_timeline
from shared.auth import Principal, path_key
from shared.errors import Invalid
from shared.events.cases import HomeVisitRecorded
from shared.uow import UnitOfWork


async def add_home_visit(uow: UnitOfWork, case: Mapping[str, Any], caller: Principal,
                         visit: HomeVisit) -> dict[str, Any]:
    row = await _record_visit(uow, caller, visit, student_id=case["child_id"], case=case,
                              org_path=case["org_path"], class_id=case["class_id"])
    await uow.commit()
    return row


async def add_student_home_visit(uow: UnitOfWork, student_id: str, caller: Principal,
                                 visit: HomeVisit) -> dict[str, Any]:
    """A visit to any watched child, with or without a case (seed 002: every head teacher visits
    40 homes a term). When the child has an open case the visit is on it too."""
    student = await student_in_scope(uow, student_id, caller)
    case = (await uow.session.execute(select(cases).where(
        cases.c.child_id == student_id, cases.c.status != CaseStatus.closed.value))).mappings().first()
    row = await _record_visit(uow, caller, visit, student_id=student_id, case=case,
                              org_path=path_key(student["org_path"]), class_id=student["class_id"])
    await uow.commit()
    return row


async def _record_visit(uow: UnitOfWork, caller: Principal, visit: HomeVisit, *, student_id: str,
                        case: Any, org_path: str, class_id: str | None) -> dict[str, Any]:
    # Never after today, wherever the school is (UTC+14 is the earliest "today" on earth): a
    # visit dated ahead would count toward the visit duty before it happened.
    if visit.visited_on > (uow.clock.now() + timedelta(hours=14)).date():
        raise Invalid("a home visit is recorded after it happened, not before",
                      errors=[{"field": "visited_on", "pointer": "/visited_on", "message": "after today"}])
    visit_id, case_id = str(uuid.uuid4()), case["id"] if case is not None else None
    row = {"id": visit_id, "case_id": case_id, "student_id": student_id, "org_path": org_path, "class_id": class_id,
           "visited_on": visit.visited_on, "visitors": list(visit.visitors), "met": list(visit.met),
           "outcome": visit.outcome, "notes": visit.notes, "next_step": visit.next_step, "recorded_by": caller.subject, "recorded_at": uow.clock.now()}
    await uow.session.execute(insert(home_visits).values(**row))
    await uow.session.execute(insert(home_visit_visitors), [
        {"visit_id": visit_id, "visitor": v, "visited_on": visit.visited_on, "org_path": org_path,
         "class_id": class_id} for v in dict.fromkeys(visit.visitors)])
    if case is None:
        # Reporting's home_visit.recorded counts work on cases; a visit to a child without one
        # is in the register (家访登记表) only.
        return row
    await add_timeline(uow, case_id, "home_visit", {"visit_id": visit_id, "visited_on": visit.visited_on,
                                                     "outcome": visit.outcome}, actor=caller.subject)
    # Reporting counts visits per week and the time from opening to the first visit.
    uow.emit(HomeVisitRecorded(case_id=case_id, student_id=case["child_id"], visit_id=visit_id,
                               visited_on=visit.visited_on,
                               visited_at=visited_at(visit.visited_on, row["recorded_at"]),
                               outcome=visit.outcome),
             subject=case["child_id"])
    return row




def visited_at(visited_on: date, recorded_at: datetime) -> datetime:
    """The visit's instant as well as it is known: the recording time when the visit was recorded
    the same (UTC) day, else noon UTC of the visit date (a visit is recorded by date)."""
    if recorded_at.date() == visited_on:
        return recorded_at
    return datetime.combine(visited_on, time(12, 0), tzinfo=UTC)
