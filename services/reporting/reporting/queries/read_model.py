"""Set-based reads of the read model that every report shares: the org tree, statuses as of a
day grouped by school and class, and dated facts counted per school path."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy import case as when

from reporting.adapters.tables import (
    case_work,
    cases,
    class_grades,
    orgs,
    standing_assignments,
    student_statuses,
    watermarks,
)
from reporting.domain.rates import RETURNED
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.orgs import DEFAULT_SYSTEM, SchoolSystem, last_primary_grade
from shared.paths import within as at_or_under
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Org:
    code: str
    name: str
    kind: str
    path: str

    @property
    def under(self) -> str:
        return f"/{self.code}/"


async def org_in_scope(uow: UnitOfWork, org_code: str, caller: Principal) -> Org:
    row = (await uow.session.execute(select(orgs).where(orgs.c.code == org_code))).mappings().first()
    path = row["path"].strip("/").split("/") if row is not None else None
    if path is None or not caller.sees_org(path):
        raise NotFound(f"no organisation with code {org_code} in the reporting model")
    audit.note_place(path)  # the request's audit row (an export is audited) is filed under this org
    return Org(row["code"], row["name"], row["kind"], row["path"])


async def orgs_under(uow: UnitOfWork, org: Org) -> dict[str, dict[str, str]]:
    """code -> {code, name, kind, path} of the org and everything below it."""
    rows = (await uow.session.execute(
        select(orgs.c.code, orgs.c.name, orgs.c.kind, orgs.c.path).where(at_or_under(orgs.c.path, org.path))
    )).mappings().all()
    return {r["code"]: dict(r) for r in rows}


def unit_of(path: str, kind: str, kinds: dict[str, dict[str, str]]) -> str | None:
    """The org of this kind on a school's path, read from the orgs' kinds (never the depth);
    None when there is none (a county-run school has no township, a school of 东莞 no county)."""
    for code in reversed(path.strip("/").split("/")):
        if kinds.get(code, {}).get("kind") == kind:
            return code
    return None


def school_system(path: Any) -> Any:
    """SQL: the system of the school whose path this is (six-three when it is not known yet)."""
    found = select(orgs.c.system).where(orgs.c.path == path).limit(1).scalar_subquery()
    return func.coalesce(found, DEFAULT_SYSTEM.value)


def level_sql(grade: Any, system: Any) -> Any:
    """SQL mirror of ``shared.orgs.level_of``: primary up to the system's last primary grade."""
    others = [(system == s.value, last_primary_grade(s)) for s in SchoolSystem
              if last_primary_grade(s) != last_primary_grade(DEFAULT_SYSTEM)]
    last_primary = when(*others, else_=last_primary_grade(DEFAULT_SYSTEM))
    return when((grade.is_(None), None), (grade <= last_primary, "primary"), else_="junior")


def statuses_as_of(day: date, *, only=None):
    """Each student's newest status row that had taken effect by the end of ``day``, with whether
    they had been dropped out by then, and their grade on that day: the newest promotion of their
    class effective by then, if it came after that row. Their level follows the grade and their
    school's system (grade 6 is junior middle in a 5+4 school). ``only`` narrows the students
    first (a condition on student_statuses) so the window runs over fewer rows."""
    h, g = student_statuses, class_grades
    rn = func.row_number().over(partition_by=h.c.student_id,
                                order_by=(h.c.effective_on.desc(), h.c.at.desc(), h.c.id.desc()))
    dropped_before = func.max(when((h.c.status == "dropped_out", 1), else_=0)).over(partition_by=h.c.student_id)
    rows = (select(h.c.student_id, h.c.status, h.c.path, h.c.class_id, h.c.grade, h.c.at, rn.label("rn"),
                   dropped_before.label("dropped_before"))
            .where(h.c.effective_on <= day))
    if only is not None:
        rows = rows.where(only)
    rows = rows.subquery("rows")
    promoted = (select(g.c.class_id, g.c.grade, g.c.at, func.row_number().over(
        partition_by=g.c.class_id, order_by=(g.c.effective_on.desc(), g.c.at.desc())).label("rn"))
        .where(g.c.effective_on <= day).subquery("promoted"))
    grade = when((promoted.c.at > rows.c.at, promoted.c.grade), else_=rows.c.grade)
    school = orgs.alias("school")
    system = func.coalesce(school.c.system, DEFAULT_SYSTEM.value)
    return (select(rows.c.student_id, rows.c.status, rows.c.path, rows.c.class_id, grade.label("grade"),
                   level_sql(grade, system).label("level"), system.label("system"), rows.c.dropped_before)
            .select_from(rows.outerjoin(promoted, and_(promoted.c.class_id == rows.c.class_id, promoted.c.rn == 1))
                         .outerjoin(school, school.c.path == rows.c.path))
            .where(rows.c.rn == 1).subquery("as_of"))


def group(rows: list[dict[str, Any]], key) -> dict[str, dict[str, Counter]]:
    """unit -> level -> tally, for any grouping of the class rows (school, township, all)."""
    out: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for r in rows:
        add_row(out[key(r)][r["level"]], r)
    return out


def add_row(tally: Counter, row: dict[str, Any]) -> None:
    tally[row["status"]] += row["n"]
    tally[RETURNED] += int(row["returned"] or 0)


async def open_cases(uow: UnitOfWork, org: Org, at: datetime) -> list[dict[str, Any]]:
    """Cases open at an instant: opened by then and not closed by then, with their level and
    their school's system, and when each first had a 劝返责任人 and a plan item."""
    stmt = select(cases.c.case_id, cases.c.path, case_level().label("level"),
                  school_system(cases.c.path).label("system"), cases.c.opened_at, cases.c.confirmed_at,
                  cases.c.persuading_at, case_work.c.responsible_at, case_work.c.planned_at).outerjoin(
        case_work, case_work.c.case_id == cases.c.case_id).where(
        at_or_under(cases.c.path, org.path), cases.c.opened_at < at,
        (cases.c.closed_at.is_(None) & (cases.c.status != "closed")) | (cases.c.closed_at >= at))
    return [dict(r) for r in (await uow.session.execute(stmt)).mappings().all()]


async def standing_at(uow: UnitOfWork, codes: set[str], at: datetime) -> dict[str, tuple[str, dict[str, str]]]:
    """code -> (level, roles) of each place's latest standing assignment put before an instant."""
    rows = (await uow.session.execute(
        select(standing_assignments.c.org_code, standing_assignments.c.level, standing_assignments.c.roles)
        .where(standing_assignments.c.org_code.in_(sorted(codes)), standing_assignments.c.assigned_at < at)
        .order_by(standing_assignments.c.assigned_at, standing_assignments.c.event_id))).all()
    return {code: (level, dict(roles or {})) for code, level, roles in rows}  # later rows win


def case_level() -> Any:
    """A case's level from its child's grade and school system; a case projected before grades
    were kept has the level it was given then."""
    return func.coalesce(level_sql(cases.c.grade, school_system(cases.c.path)), cases.c.level)


async def as_of(uow: UnitOfWork) -> datetime | None:
    return (await uow.session.execute(select(func.max(watermarks.c.event_time)))).scalar_one_or_none()
