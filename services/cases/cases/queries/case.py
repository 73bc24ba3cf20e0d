"""Reads: a case with its timeline (its legal steps are ``cases.queries.ladder``), case lists,
the dropout persuasion ledger (台账), and home visits per teacher. Every query is filtered to the
caller's scope first."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy import case as when

from cases.adapters.tables import (
    cases,
    dual_reports,
    home_visit_visitors,
    home_visits,
    legal_steps,
    plan_items,
    timeline,
)
from cases.domain.lifecycle import CaseStatus
from cases.domain.responsibility import UNASSIGNED_AFTER
from cases.queries.ladder import legal_steps_of
from shared import audit
from shared.auth import Principal, path_codes
from shared.errors import NotFound
from shared.export import Column
from shared.pagination import PageParams
from shared.paths import naming
from shared.sql import fetch_page
from shared.uow import UnitOfWork


def _case_out(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["student_id"] = out.pop("child_id")  # the wire keeps its name (a person id for a suspected child)
    out["org_path"] = path_codes(row["org_path"])
    out["flags"] = path_codes(row["flags"] or "/")
    return out


async def visible_case(uow: UnitOfWork, case_id: str, caller: Principal) -> Any:
    """The case as stored, if the caller's scope covers it (its place is noted for this request's
    audit row); to anyone else it does not exist."""
    case = (await uow.session.execute(select(cases).where(cases.c.id == case_id))).mappings().first()
    if case is None or not caller.sees(path_codes(case["org_path"]), case["class_id"]):
        raise NotFound(f"no case with id {case_id}")
    audit.note_place(path_codes(case["org_path"]))
    return case


async def get_case(uow: UnitOfWork, case_id: str, caller: Principal, *, tz: str = "UTC") -> dict[str, Any]:
    """The case and all its records. ``tz`` dates a legal step's deadline (local days); the GET
    route passes the schools' zone, the answers of writes UTC's."""
    row = await visible_case(uow, case_id, caller)

    async def rows(table, *order):
        return [dict(r) for r in (await uow.session.execute(
            select(table).where(table.c.case_id == case_id).order_by(*order))).mappings()]

    return {**_case_out(row), "reports": await rows(dual_reports, dual_reports.c.recipient),
            "plan_items": await rows(plan_items, plan_items.c.due_on, plan_items.c.created_at),
            "home_visits": await rows(home_visits, home_visits.c.visited_on, home_visits.c.recorded_at),
            "legal_steps": await legal_steps_of(uow, case_id, tz),
            "timeline": await rows(timeline, timeline.c.id)}


async def list_cases(uow: UnitOfWork, page: PageParams, caller: Principal, *, student_id: str | None,
                     status: str | None, org_code: str | None) -> tuple[list[dict[str, Any]], int]:
    conditions = caller.scope_filter(cases.c.org_path, cases.c.class_id)
    if student_id:
        conditions.append(cases.c.child_id == student_id)
    if status:
        conditions.append(cases.c.status == status)
    if org_code:
        conditions.append(naming(cases.c.org_path, org_code))
    stmt = select(cases).where(*conditions).order_by(cases.c.opened_at.desc(), cases.c.id)
    rows, total = await fetch_page(uow.session, stmt, limit=page.limit, offset=page.offset)
    return [_case_out(r) for r in rows], total


# --- the ledger (台账) --------------------------------------------------------------------------

STATUS_LABELS = {
    "reported": "待核实", "verifying": "核实中", "confirmed": "确认辍学", "false_alarm": "误报",
    "persuading": "劝返中", "returned": "已复学", "home_teaching": "送教上门", "transferred": "已转学", "unable_to_study": "不具备学习条件",
    "judicial_notice": "已发劝返复学通知书", "closed": "已销号",
}
ORIGIN_LABELS = {"absence": "缺勤48小时", "transfer_overdue": "转学逾期未接收",
                 "boarding_overdue": "寄读无回执或逾期未返", "suspension_overdue": "休学逾期未复学",
                 "suspected_out_of_school": "疑似失学辍学", "manual": "人工上报"}
FLAG_LABELS = {"poor_household": "建档立卡", "left_behind": "留守儿童", "single_parent": "单亲家庭",
               "disabled": "残疾", "learning_difficulty": "学困生", "double_difficulty": "双困生"}

LEDGER_COLUMNS = [
    Column("id", "案件编号"), Column("student_name", "学生姓名"), Column("national_id_masked", "身份证号"),
    Column("gender", "性别"), Column("grade", "年级"), Column("school_name", "学校"),
    Column("school_code", "学校代码"), Column("status_label", "状态"), Column("origin_label", "来源"),
    Column("flag_labels", "关注类别"), Column("opened_at", "立案时间"), Column("responsible_person", "劝返责任人"),
    Column("open_plan_items", "未完成计划项"), Column("overdue_plan_items", "逾期计划项"),
    Column("home_visits", "家访次数"), Column("last_visit_on", "最近家访日期"),
    Column("unacknowledged_reports", "未签收报告"), Column("unassigned", "确认超24小时无劝返责任人"),
    Column("legal_overdue", "法律文书逾期未回复"),
    Column("overdue", "是否逾期"),
    Column("outcome_label", "结果"), Column("closed_at", "销号时间"),
]


def _local_day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz)).astimezone(UTC)


async def ledger(uow: UnitOfWork, page: PageParams, caller: Principal, *, status: str | None,
                 org_code: str | None, school_code: str | None, opened_from: date | None, opened_to: date | None,
                 flag: str | None, report_deadline: timedelta, tz: str) -> tuple[list[dict[str, Any]], int]:
    """Open work first: a case is overdue when a plan item is past its due date undone, a dual
    report is unacknowledged past the deadline, it was confirmed over 24 hours ago and still
    has no 劝返责任人, or a legal step is past its deadline with no response. One query, whatever the number of cases."""
    now = uow.clock.now()
    today = now.astimezone(ZoneInfo(tz)).date()
    item = plan_items.alias("item")
    report = dual_reports.alias("report")
    visit = home_visits.alias("visit")
    undone = and_(item.c.case_id == cases.c.id, item.c.done_at.is_(None))
    open_items = select(func.count()).where(undone).scalar_subquery()
    late_items = select(func.count()).where(undone, item.c.due_on < today).scalar_subquery()
    unacked = select(func.count()).where(report.c.case_id == cases.c.id, report.c.acknowledged_at.is_(None))
    late_report = exists().where(report.c.case_id == cases.c.id, report.c.acknowledged_at.is_(None),
                                 report.c.issued_at <= now - report_deadline)
    # domain.responsibility.unassigned, in SQL: confirmed over 24 h ago, no 劝返责任人 yet.
    no_responsible = and_(cases.c.status != CaseStatus.closed.value, cases.c.confirmed_at.is_not(None),
                          cases.c.confirmed_at < now - UNASSIGNED_AFTER, cases.c.responsible_assigned_at.is_(None))
    unassigned = when((no_responsible, 1), else_=0)
    step = legal_steps.alias("step")
    # domain.ladder.overdue, in SQL: past its deadline (a local date) with no response.
    late_step = and_(cases.c.status != CaseStatus.closed.value, exists().where(
        step.c.case_id == cases.c.id, step.c.response.is_(None), step.c.deadline < today))
    legal_overdue = when((late_step, 1), else_=0)
    overdue = when((and_(cases.c.status != CaseStatus.closed.value,
                         or_(late_report, exists().where(undone, item.c.due_on < today), no_responsible,
                             late_step)), 1),
                   else_=0)
    stmt = select(
        cases, open_items.label("open_plan_items"), late_items.label("overdue_plan_items"),
        unacked.scalar_subquery().label("unacknowledged_reports"),
        select(func.count()).where(visit.c.case_id == cases.c.id).scalar_subquery().label("home_visits"),
        select(func.max(visit.c.visited_on)).where(visit.c.case_id == cases.c.id).scalar_subquery()
        .label("last_visit_on"),
        overdue.label("overdue"), unassigned.label("unassigned"), legal_overdue.label("legal_overdue"),
    ).where(*caller.scope_filter(cases.c.org_path, cases.c.class_id))
    if status:
        stmt = stmt.where(cases.c.status == status)
    if org_code:
        stmt = stmt.where(naming(cases.c.org_path, org_code))
    if school_code:
        stmt = stmt.where(cases.c.school_code == school_code)
    if opened_from:
        stmt = stmt.where(cases.c.opened_at >= _local_day_start(opened_from, tz))
    if opened_to:
        stmt = stmt.where(cases.c.opened_at < _local_day_start(opened_to + timedelta(days=1), tz))
    if flag:
        stmt = stmt.where(naming(cases.c.flags, flag))
    stmt = stmt.order_by(overdue.desc(), cases.c.opened_at.desc(), cases.c.id)
    rows, total = await fetch_page(uow.session, stmt, limit=page.limit, offset=page.offset)
    return [_ledger_row(r) for r in rows], total


def _ledger_row(r: Any) -> dict[str, Any]:
    child = r["child"] or {}
    chain = r["org_chain"] or []
    school = next((o for o in chain if o.get("kind") == "school"), None)
    responsible = (r["responsibility"] or {}).get("responsible_person") or {}
    flags = path_codes(r["flags"] or "/")
    return {
        "id": r["id"], "student_id": r["child_id"], "student_name": child.get("name"),
        "national_id_masked": child.get("national_id_masked"),
        "gender": {"male": "男", "female": "女"}.get(child.get("gender"), child.get("gender")),
        "grade": child.get("grade"), "school_code": r["school_code"],
        "school_name": school.get("name") if school else None,
        "status": r["status"], "status_label": STATUS_LABELS.get(r["status"], r["status"]),
        "origin": r["origin"], "origin_label": ORIGIN_LABELS.get(r["origin"], r["origin"]),
        "flags": flags, "flag_labels": [FLAG_LABELS.get(f, f) for f in flags],
        "opened_at": r["opened_at"], "responsible_person": responsible.get("name"),
        "open_plan_items": r["open_plan_items"], "overdue_plan_items": r["overdue_plan_items"],
        "home_visits": r["home_visits"], "last_visit_on": r["last_visit_on"],
        "unacknowledged_reports": r["unacknowledged_reports"], "unassigned": bool(r["unassigned"]),
        "legal_overdue": bool(r["legal_overdue"]),
        "overdue": bool(r["overdue"]),
        "outcome": r["outcome"], "outcome_label": STATUS_LABELS.get(r["outcome"]) if r["outcome"] else None,
        "closed_at": r["closed_at"],
    }


# --- home visits per teacher ------------------------------------------------------------------

async def home_visit_summary(uow: UnitOfWork, caller: Principal, *, org_code: str, since: date,
                             until: date) -> list[dict[str, Any]]:
    """Visits per visitor in [since, until] (a term) under an org, in the caller's scope, most first."""
    known = (await uow.session.execute(select(cases.c.org_path).where(
        naming(cases.c.org_path, org_code)).limit(1))).scalar_one_or_none()
    place = path_codes(known)[: path_codes(known).index(org_code) + 1] if known else [org_code]
    if not caller.sees_org(place):
        raise NotFound(f"no organisation with code {org_code} in the case ledger")
    audit.note_place(place)
    v = home_visit_visitors
    rows = (await uow.session.execute(
        select(v.c.visitor, func.count().label("visits"), func.count(func.distinct(home_visits.c.case_id))
               .label("cases"), func.max(v.c.visited_on).label("last_visit_on"))
        .join(home_visits, home_visits.c.id == v.c.visit_id)
        .where(*caller.scope_filter(v.c.org_path, v.c.class_id),
               naming(v.c.org_path, org_code), v.c.visited_on >= since,
               v.c.visited_on <= until)
        .group_by(v.c.visitor).order_by(func.count().desc(), v.c.visitor))).mappings().all()
    return [dict(r) for r in rows]
