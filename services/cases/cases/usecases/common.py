"""What the cases use cases share: the timeline, the student directory's lookups. (The events the
service emits are models in shared/events/cases.py and shared/events/reports.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import insert, select

from cases.adapters.tables import cases, students, timeline
from cases.domain.lifecycle import CaseStatus
from shared.uow import UnitOfWork

log = structlog.get_logger("baoxue.cases")

SYSTEM = "system"
# The default verification deadline; the service binds BAOXUE_VERIFY_DEADLINE_HOURS (bootstrap).
VERIFY_DEADLINE = timedelta(hours=24)
PLACEMENT = ("school_code", "class_id", "grade", "org_path", "org_chain")


# --- the timeline -----------------------------------------------------------------------------

async def add_timeline(uow: UnitOfWork, case_id: str, kind: str, detail: dict[str, Any], *,
                        at: datetime | None = None, actor: str = SYSTEM, note: str | None = None) -> None:
    await uow.session.execute(insert(timeline).values(
        case_id=case_id, at=at or uow.clock.now(), kind=kind, actor=actor, detail=_jsonable(detail), note=note))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


async def open_case_of(uow: UnitOfWork, child_id: str) -> str | None:
    return (await uow.session.execute(select(cases.c.id).where(
        cases.c.child_id == child_id, cases.c.status != CaseStatus.closed.value))).scalar_one_or_none()


async def find_student(uow: UnitOfWork, student_id: str) -> Any:
    return (await uow.session.execute(select(students).where(students.c.student_id == student_id))).mappings().first()


def child_of(student: Any, *, grade: int | None = None) -> dict[str, Any] | None:
    if student is None:
        return {"grade": grade} if grade is not None else None
    return {"name": student["name"], "national_id_masked": student["national_id_masked"],
            "gender": student["gender"], "birth_date": student["birth_date"], "grade": student["grade"],
            "flags": student["flags"]}




async def opening_of(uow: UnitOfWork, case_id: str) -> dict[str, Any]:
    """What the case was opened on (the first timeline entry): the absence, the transfer..."""
    return (await uow.session.execute(select(timeline.c.detail).where(
        timeline.c.case_id == case_id, timeline.c.kind == "opened").order_by(timeline.c.id).limit(1))
    ).scalar_one_or_none() or {}
