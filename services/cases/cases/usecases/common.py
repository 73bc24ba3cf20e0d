"""What the cases use cases share: the timeline, the student directory's lookups. (The events the
service emits are models in shared/events/cases.py and shared/events/reports.py.)"""

from __future__ import annotations

from collections.abc import Collection, Sequence
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
    await add_timelines(uow, [timeline_entry(uow, case_id, kind, detail, at=at, actor=actor, note=note)])


def timeline_entry(uow: UnitOfWork, case_id: str, kind: str, detail: dict[str, Any], *,
                   at: datetime | None = None, actor: str = SYSTEM, note: str | None = None) -> dict[str, Any]:
    """A timeline row, for ``add_timelines``."""
    return {"case_id": case_id, "at": at or uow.clock.now(), "kind": kind, "actor": actor,
            "detail": _jsonable(detail), "note": note}


async def add_timelines(uow: UnitOfWork, entries: Sequence[dict[str, Any]]) -> None:
    """Timeline rows (``timeline_entry``) in one insert of many rows, in the order given. (An
    executemany: SQLAlchemy sends it as multi-row INSERTs from one cached compilation, where a
    ``.values([...])`` of hundreds of rows would be compiled afresh each time.)"""
    if entries:
        await uow.session.execute(insert(timeline), list(entries))


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


async def open_cases_of(uow: UnitOfWork, child_ids: Collection[str]) -> dict[str, str]:
    """Child to open case id, for many children in one query (``open_case_of``)."""
    if not child_ids:
        return {}
    rows = await uow.session.execute(select(cases.c.child_id, cases.c.id).where(
        cases.c.child_id.in_(sorted(child_ids)), cases.c.status != CaseStatus.closed.value))
    return {row.child_id: row.id for row in rows}


async def find_student(uow: UnitOfWork, student_id: str) -> Any:
    return (await find_students(uow, [student_id])).get(student_id)


async def find_students(uow: UnitOfWork, student_ids: Collection[str]) -> dict[str, Any]:
    """Student id to its directory row, for many in one query (those the directory knows)."""
    if not student_ids:
        return {}
    rows = (await uow.session.execute(select(students).where(
        students.c.student_id.in_(sorted(student_ids))))).mappings()
    return {row["student_id"]: row for row in rows}


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


async def openings_of(uow: UnitOfWork, case_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """``opening_of`` for many cases in one query (a case's ``opened`` entry is written once)."""
    rows = (await uow.session.execute(select(timeline.c.case_id, timeline.c.detail).where(
        timeline.c.case_id.in_(sorted(case_ids)), timeline.c.kind == "opened").order_by(timeline.c.id.desc()))).all()
    return {row.case_id: row.detail or {} for row in rows}  # the first entry of a case wins
