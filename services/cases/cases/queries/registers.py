"""The home-visit register (家访登记表): visits per recorder in a term against the duty (seed 002:
每名班主任每学期入户家访要在40人次以上), and every relapsed child short of the 2 visits a term
that seed 002 asks for (有反复的学生家访次数要达到2次以上). Set-based: one query per section."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select

from cases.adapters.tables import cases, home_visits
from cases.domain.responsibility import RELAPSE_WINDOW, relapsed, visits_short
from cases.queries.scope import locate_org
from shared.auth import Principal
from shared.export import Column
from shared.uow import UnitOfWork

RECORDER_COLUMNS = [
    Column("recorder", "记录人"), Column("visits", "家访人次"), Column("children", "家访学生数"),
    Column("required", "学期要求"), Column("shortfall", "差额"), Column("met", "是否达标"),
    Column("last_visit_on", "最近家访日期"),
]
RELAPSED_COLUMNS = [
    Column("student_name", "学生姓名"), Column("student_id", "学生编号"), Column("school_code", "学校代码"),
    Column("class_id", "班级"), Column("why_label", "反复情况"), Column("visits", "本学期家访次数"),
    Column("required", "要求次数"), Column("shortfall", "差额"), Column("last_visit_on", "最近家访日期"),
]
WHY_LABELS = {"reopened": "重新立案", "returned": "一年内复学"}


async def home_visit_register(uow: UnitOfWork, caller: Principal, *, org_code: str, since: date, until: date,
                              per_term: int, relapsed_min: int) -> dict[str, Any]:
    await locate_org(uow, org_code, caller)
    under = f"/{org_code}/"
    v = home_visits
    in_term = and_(*caller.scope_filter(v.c.org_path, v.c.class_id), v.c.org_path.contains(under, autoescape=True),
                   v.c.visited_on >= since, v.c.visited_on <= until)
    recorders = [
        {"recorder": r.recorded_by, "visits": r.visits, "children": r.children, "required": per_term,
         "shortfall": visits_short(r.visits, per_term), "met": r.visits >= per_term, "last_visit_on": r.last_on}
        for r in await uow.session.execute(
            select(v.c.recorded_by, func.count().label("visits"),
                   func.count(func.distinct(v.c.student_id)).label("children"),
                   func.max(v.c.visited_on).label("last_on"))
            .where(in_term).group_by(v.c.recorded_by).order_by(func.count(), v.c.recorded_by))]

    now = uow.clock.now()
    term_visits = (select(v.c.student_id, func.count().label("visits"), func.max(v.c.visited_on).label("last_on"))
                   .where(in_term).group_by(v.c.student_id).subquery())
    rows = (await uow.session.execute(
        select(cases.c.child_id.label("student_id"), cases.c.child, cases.c.school_code, cases.c.class_id,
               cases.c.returned_at, cases.c.reopen_count, cases.c.opened_at, term_visits.c.visits, term_visits.c.last_on)
        .outerjoin(term_visits, term_visits.c.student_id == cases.c.child_id)
        .where(*caller.scope_filter(cases.c.org_path, cases.c.class_id),
               cases.c.org_path.contains(under, autoescape=True),
               or_(cases.c.reopen_count > 0, cases.c.returned_at >= now - RELAPSE_WINDOW))
        .order_by(cases.c.child_id, cases.c.opened_at.desc()))).mappings().all()
    children: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["student_id"] in children or not relapsed(r["returned_at"], r["reopen_count"], now):
            continue  # the child's newest case speaks for them
        visits = r["visits"] or 0
        if visits >= relapsed_min:
            children[r["student_id"]] = {}
            continue
        why = "reopened" if r["reopen_count"] else "returned"
        children[r["student_id"]] = {
            "student_id": r["student_id"], "student_name": (r["child"] or {}).get("name"),
            "school_code": r["school_code"], "class_id": r["class_id"], "why": why, "why_label": WHY_LABELS[why],
            "visits": visits, "required": relapsed_min, "shortfall": visits_short(visits, relapsed_min),
            "last_visit_on": r["last_on"]}
    return {"org_code": org_code, "since": since, "until": until, "required_per_term": per_term,
            "relapsed_required": relapsed_min, "recorders": recorders,
            "relapsed": [c for c in children.values() if c]}

