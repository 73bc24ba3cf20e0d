"""The monthly dropout report per class (学校辍学月报表) for a school, township or county: one
query over the status history for every class's counts, one for the month's home visits."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, text
from sqlalchemy import case as when

from reporting.adapters.tables import cases, class_grades, home_visits, roll_call_sessions, student_statuses
from reporting.domain.monthly import (
    COUNTS,
    NO_ROLL_CALL_EVENTS,
    ROLL_CALL_EVENTS,
    ClassCounts,
    RollCalls,
    rank_within_schools,
    total,
)
from reporting.domain.months import Month
from reporting.domain.rates import OFF_ROLL
from reporting.queries.read_model import Org, as_of, org_in_scope, orgs_under, statuses_as_of, unit_of
from shared.auth import Principal
from shared.paths import within as at_or_under
from shared.statuses import ATTENDING
from shared.uow import UnitOfWork

# Figures every row leaves null, and why: said once per report rather than once per class.
UNKNOWN = {name: {"value": None, "reason": NO_ROLL_CALL_EVENTS, "awaiting": list(ROLL_CALL_EVENTS)}
           for name in ("attendance_rate", "roll_call_completeness")}


def _counts_query(org: Org, month: Month):
    """Per (school path, class): the month's flows and the state at both ends, from one pass of
    two window functions over the status history up to the month's last day. A row is the state
    at the month's start when it took effect before the 1st and the next row (if any) on or after
    it; the state at the end when no row follows it by the last day."""
    h = student_statuses
    order = (h.c.effective_on, h.c.at, h.c.id)
    ever_here = h.c.student_id.in_(select(h.c.student_id).where(at_or_under(h.c.path, org.path)))
    rows = (select(h.c.student_id, h.c.status, h.c.path, h.c.class_id, h.c.grade, h.c.effective_on,
                   func.lag(h.c.status).over(partition_by=h.c.student_id, order_by=order).label("prev"),
                   func.lead(h.c.effective_on).over(partition_by=h.c.student_id, order_by=order).label("next_on"))
            .where(h.c.effective_on <= month.last, ever_here).subquery("rows"))
    at_start = and_(rows.c.effective_on < month.first, rows.c.next_on.is_(None) | (rows.c.next_on >= month.first))
    at_end = rows.c.next_on.is_(None)
    in_month = rows.c.effective_on >= month.first
    attending = rows.c.status.in_(sorted(ATTENDING))

    def n(condition):
        return func.sum(when((condition, 1), else_=0))

    on_roll_at_end = and_(at_end, rows.c.status.not_in(sorted(OFF_ROLL)))
    # The grade of the children on the roll at the end (a graduate's old row keeps grade 9).
    counts = (select(rows.c.path, rows.c.class_id,
                     func.coalesce(func.max(when((on_roll_at_end, rows.c.grade))), func.max(rows.c.grade)).label("grade"),
                     n(and_(at_start, attending)).label("enrolled_at_start"),
                     n(and_(in_month, rows.c.prev.is_(None), rows.c.status == "enrolled")).label("new_enrolments"),
                     n(and_(in_month, attending, rows.c.prev == "dropped_out")).label("returned"),
                     n(and_(in_month, rows.c.status == "transferred_in")).label("transferred_in"),
                     n(and_(in_month, rows.c.status == "dropped_out",
                            rows.c.prev.is_(None) | (rows.c.prev != "dropped_out"))).label("dropped_out"),
                     n(and_(in_month, rows.c.status == "transferred_out")).label("transferred_out"),
                     n(and_(at_end, attending)).label("enrolled_at_end"),
                     n(and_(at_end, rows.c.status == "dropped_out")).label("out_at_end"),
                     n(on_roll_at_end).label("on_roll_at_end"))
              .where(at_or_under(rows.c.path, org.path), rows.c.class_id.is_not(None))
              .group_by(rows.c.path, rows.c.class_id).subquery("counts"))
    # The class's grade at the month's end: its newest promotion by then, else its children's rows.
    g = class_grades
    promoted = (select(g.c.class_id, g.c.grade, func.row_number().over(
        partition_by=g.c.class_id, order_by=(g.c.effective_on.desc(), g.c.at.desc())).label("rn"))
        .where(g.c.effective_on <= month.last).subquery("promoted"))
    return (select(*(c for c in counts.c if c.name != "grade"),
                   func.coalesce(promoted.c.grade, counts.c.grade).label("grade"))
            .select_from(counts.outerjoin(promoted, and_(promoted.c.class_id == counts.c.class_id,
                                                         promoted.c.rn == 1))))


async def _visits(uow: UnitOfWork, org: Org, month: Month, tz: ZoneInfo) -> Counter:
    """(path, class) -> home visits in the month on the cases of the class's children, placed
    where the child was at the end of the month (a case carries its school, not its class)."""
    start, end = month.window(tz)
    visited = (select(cases.c.student_id).join(home_visits, home_visits.c.case_id == cases.c.case_id)
               .where(at_or_under(cases.c.path, org.path), home_visits.c.visited_at >= start,
                      home_visits.c.visited_at < end))
    s = statuses_as_of(month.last, only=student_statuses.c.student_id.in_(visited))
    stmt = (select(s.c.path, s.c.class_id, func.count().label("n"))
            .select_from(home_visits.join(cases, cases.c.case_id == home_visits.c.case_id)
                         .join(s, s.c.student_id == cases.c.student_id))
            .where(home_visits.c.visited_at >= start, home_visits.c.visited_at < end,
                   at_or_under(s.c.path, org.path), s.c.class_id.is_not(None))
            .group_by(s.c.path, s.c.class_id))
    return Counter({(r.path, r.class_id): r.n for r in (await uow.session.execute(stmt)).all()})


def _school(path: str) -> str:
    return path.strip("/").split("/")[-1]


def _row(c: ClassCounts, calls: RollCalls = RollCalls()) -> dict[str, Any]:
    # on_roll_at_end only decides 无辍学班级 (the row says no_dropout); it is not a column.
    return {**{k: getattr(c, k) for k in COUNTS if k != "on_roll_at_end"},
            "roll": c.roll, "dropout_rate": c.dropout_rate, "attendance_rate": calls.attendance_rate,
            "roll_call_completeness": calls.completeness}


async def _roll_calls(uow: UnitOfWork, org: Org, month: Month) -> dict[str, RollCalls]:
    """class id -> its roll calls in the month, one grouped query (roll_call_sessions)."""
    t = roll_call_sessions
    expected = func.sum(when((t.c.expected, 1), else_=0))
    taken = func.sum(when((t.c.expected & t.c.taken, 1), else_=0))
    rows = (await uow.session.execute(
        select(t.c.class_id, expected.label("expected"), taken.label("taken"), func.sum(t.c.seen).label("seen"),
               func.sum(t.c.marked).label("marked"))
        .where(at_or_under(t.c.path, org.path), t.c.date >= month.first, t.c.date <= month.last)
        .group_by(t.c.class_id))).all()
    return {r.class_id: RollCalls(int(r.expected or 0), int(r.taken or 0), int(r.seen or 0), int(r.marked or 0))
            for r in rows}


def _sum(calls: Iterable[RollCalls]) -> RollCalls:
    return sum(calls, RollCalls())


async def monthly(uow: UnitOfWork, org_code: str, caller: Principal, *, month: Month, tz: ZoneInfo) -> dict[str, Any]:
    org = await org_in_scope(uow, org_code, caller)
    kinds = await orgs_under(uow, org)
    if uow.session.bind is not None and uow.session.bind.dialect.name == "postgresql":
        # A county's history (100,000 children, a term) sorts in some 20 MB twice over: at the
        # default 4 MB work_mem both sorts spill to disk. For this transaction (a read) only.
        await uow.session.execute(text("SET LOCAL work_mem = '64MB'"))
    visits = await _visits(uow, org, month, tz)
    calls = await _roll_calls(uow, org, month)
    counted = []
    for r in (await uow.session.execute(_counts_query(org, month))).mappings().all():
        counted.append(ClassCounts(
            school_code=_school(r["path"]), class_id=r["class_id"], grade=int(r["grade"]),
            home_visits=visits.get((r["path"], r["class_id"]), 0),
            **{k: int(r[k] or 0) for k in COUNTS if k != "home_visits"}))
    ranked = rank_within_schools(counted)

    def names(code: str) -> dict[str, Any]:
        org_ = kinds.get(code, {})
        township = unit_of(org_["path"], "township", kinds) if org_ else None
        return {"school_code": code, "school_name": org_.get("name"),
                "township_code": township if township != code else None}

    school = {code: names(code) for code in {rc.counts.school_code for rc in ranked}}
    classes = [{**school[rc.counts.school_code], "class_id": rc.counts.class_id, "grade": rc.counts.grade,
                "rank": rc.rank, "no_dropout": rc.counts.no_dropout,
                **_row(rc.counts, calls.get(rc.counts.class_id, RollCalls()))} for rc in ranked]
    per_school: dict[str, list[ClassCounts]] = defaultdict(list)
    for rc in ranked:
        per_school[rc.counts.school_code].append(rc.counts)
    schools = []
    for code, mine in sorted(per_school.items()):
        schools.append({**school[code], "classes": len(mine),
                        "no_dropout_classes": sum(1 for c in mine if c.no_dropout),
                        **_row(total(mine), _sum(calls.get(c.class_id, RollCalls()) for c in mine))})
    start, end = month.window(tz)
    return {
        "org_code": org.code, "org_name": org.name, "org_kind": org.kind, "month": str(month),
        "period": {"first_day": month.first, "last_day": month.last, "start": start, "end": end},
        "totals": {"classes": len(ranked), "no_dropout_classes": sum(1 for rc in ranked if rc.counts.no_dropout),
                   **_row(total(rc.counts for rc in ranked),
                          _sum(calls.get(rc.counts.class_id, RollCalls()) for rc in ranked))},
        "classes": classes, "schools": schools,
        "no_dropout_classes": [{k: c[k] for k in ("school_code", "school_name", "class_id", "grade", "enrolled_at_end")}
                               for c in classes if c["no_dropout"]],
        # Unknown (never 0) only while nothing was expected or recorded under the org in the month.
        "unknown": {} if any(c.expected or c.marked for c in calls.values()) else UNKNOWN, "as_of": await as_of(uow),
    }

