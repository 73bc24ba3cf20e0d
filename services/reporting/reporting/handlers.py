"""Projecting events into the read model, and answering from it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case as when
from sqlalchemy import func, select, update

from shared.auth import Principal
from shared.envelope import TOPIC_CASES, TOPIC_REGISTRY, Event
from shared.errors import NotFound
from shared.sql import insert_ignoring_conflicts, upsert
from shared.uow import UnitOfWork

from reporting.adapters.tables import cases, orgs, students, watermarks
from reporting.domain.rates import level_figures

LEVELS = ("primary", "junior")


def _path(codes: list[str]) -> str:
    return "/" + "/".join(codes) + "/"


def _level(grade: int | None) -> str | None:
    return None if grade is None else ("primary" if int(grade) <= 6 else "junior")


async def _advance(uow: UnitOfWork, topic: str, event: Event) -> None:
    """Move the topic's watermark forward, never back (a redelivered old event leaves it)."""
    at = event.time
    await uow.session.execute(insert_ignoring_conflicts(uow.session, watermarks).values(topic=topic, event_time=at))
    await uow.session.execute(
        update(watermarks).where(watermarks.c.topic == topic, watermarks.c.event_time < at).values(event_time=at))


async def on_org_registered(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    await upsert(uow.session, orgs, {"code": d["code"]}, {"name": d["name"], "kind": d["kind"], "path": _path(d["path"])})
    await _advance(uow, TOPIC_REGISTRY, event)


async def on_student_enrolled(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    await upsert(uow.session, students, {"student_id": d["student_id"]}, {
        "path": _path(d["org_path"]), "grade": d["grade"], "level": _level(d["grade"]), "status": d.get("status", "enrolled")})
    await _advance(uow, TOPIC_REGISTRY, event)


async def on_student_status_changed(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    values: dict[str, Any] = {"status": d["status"]}
    if "org_path" in d:
        values["path"] = _path(d["org_path"])
    if "grade" in d:
        values.update(grade=d["grade"], level=_level(d["grade"]))
    await uow.session.execute(update(students).where(students.c.student_id == d["student_id"]).values(**values))
    await _advance(uow, TOPIC_REGISTRY, event)


async def on_case_opened(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    opened = datetime.fromisoformat(d["opened_at"]) if isinstance(d["opened_at"], str) else d["opened_at"]
    await upsert(uow.session, cases, {"case_id": d["case_id"]}, {
        "student_id": d["student_id"], "path": _path(d["org_path"]), "level": _level(d.get("grade")),
        "status": d["status"], "opened_at": opened})
    await _advance(uow, TOPIC_CASES, event)


async def on_case_status_changed(uow: UnitOfWork, event: Event) -> None:
    d = event.data
    await uow.session.execute(update(cases).where(cases.c.case_id == d["case_id"]).values(status=d["status"]))
    await _advance(uow, TOPIC_CASES, event)


async def summary(uow: UnitOfWork, org_code: str, caller: Principal) -> dict[str, Any]:
    org = (await uow.session.execute(select(orgs).where(orgs.c.code == org_code))).mappings().first()
    if org is None or caller.path_fragment not in org["path"]:
        raise NotFound(f"no organisation with code {org_code} in the reporting model")
    under = f"/{org_code}/"
    # One pass over the org's students, grouped by level (set-based, not a query per school).
    rows = (await uow.session.execute(
        select(
            students.c.level,
            func.sum(when((students.c.status.in_(["enrolled", "transferred_in"]), 1), else_=0)),
            func.sum(when((students.c.status == "dropped_out", 1), else_=0)),
        ).where(students.c.path.contains(under, autoescape=True)).group_by(students.c.level)
    )).all()
    counts = {level: (int(enrolled or 0), int(dropped or 0)) for level, enrolled, dropped in rows}
    open_rows = (await uow.session.execute(
        select(cases.c.level, func.count()).where(cases.c.path.contains(under, autoescape=True),
                                                  cases.c.status != "closed").group_by(cases.c.level)
    )).all()
    open_by_level = {level: n for level, n in open_rows}
    levels = {lv: {**level_figures(*counts.get(lv, (0, 0))), "open_cases": open_by_level.get(lv, 0)} for lv in LEVELS}
    enrolled = sum(c[0] for c in counts.values())
    dropped = sum(c[1] for c in counts.values())
    as_of = (await uow.session.execute(select(func.max(watermarks.c.event_time)))).scalar_one_or_none()
    return {
        "org_code": org_code, "org_name": org["name"], "org_kind": org["kind"],
        **level_figures(enrolled, dropped),
        "open_cases": sum(open_by_level.values()),
        "levels": levels,
        "as_of": as_of,
    }
