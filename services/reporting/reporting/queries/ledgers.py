"""The three ledgers (三个台账) every county keeps, from the read model: school-age children of
registered poor households, children unable to study (with the reason and the arrangement),
and dropouts with their persuasion work. One query each, filtered, ordered, paginated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, and_, func, select
from sqlalchemy import case as when
from sqlalchemy.orm import aliased

from reporting.adapters.tables import cases, home_visits, orgs, student_statuses, students
from reporting.domain.rates import OFF_ROLL
from reporting.queries.read_model import org_in_scope
from shared.auth import Principal
from shared.pagination import PageParams
from shared.paths import naming
from shared.paths import within as at_or_under
from shared.sql import fetch_page
from shared.uow import UnitOfWork

Ledger = Literal["poor-households", "unable-to-study", "dropouts"]
# What was arranged for a child who cannot attend (the status says it).
ARRANGEMENTS = {"home_teaching": "送教上门", "unable_to_study": "暂不具备学习条件，在家（定期随访）"}
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class Filters:
    school_code: str | None = None
    grade: int | None = None
    status: str | None = None
    flag: str | None = None


def _base(org_under: str, filters: Filters) -> Select:
    school = aliased(orgs)
    stmt = (select(students.c.student_id, students.c.name, students.c.national_id_masked, students.c.gender,
                   students.c.birth_date, students.c.school_code, school.c.name.label("school_name"),
                   students.c.grade, students.c.class_id, students.c.status, students.c.status_since,
                   students.c.status_reason, students.c.flags, students.c.enrolled_on)
            .select_from(students.outerjoin(school, school.c.code == students.c.school_code))
            .where(at_or_under(students.c.path, org_under)))
    if filters.school_code:
        stmt = stmt.where(students.c.school_code == filters.school_code)
    if filters.grade is not None:
        stmt = stmt.where(students.c.grade == filters.grade)
    if filters.status:
        stmt = stmt.where(students.c.status == filters.status)
    if filters.flag:
        stmt = stmt.where(naming(students.c.flags, filters.flag))
    return stmt


def _dropouts(stmt: Select) -> Select:
    """Every child who has been dropped out (still, or returned since), with the latest dropout's
    date and reason, and their latest case: first visit, visits, return, close-out."""
    h = student_statuses
    spells = (select(h.c.student_id, h.c.effective_on, h.c.reason, func.row_number().over(
        partition_by=h.c.student_id, order_by=(h.c.effective_on.desc(), h.c.at.desc(), h.c.id.desc())).label("rn"))
        .where(h.c.status == "dropped_out").subquery("spells"))
    latest = (select(cases, func.row_number().over(partition_by=cases.c.student_id,
                                                   order_by=cases.c.opened_at.desc()).label("rn"))
              .subquery("latest_case"))
    visits = select(home_visits.c.case_id, func.count().label("n")).group_by(home_visits.c.case_id).subquery("v")
    return (stmt.add_columns(spells.c.effective_on.label("dropped_on"), spells.c.reason.label("dropout_reason"),
                             latest.c.case_id, latest.c.status.label("case_status"), latest.c.opened_at,
                             latest.c.first_visit_at, func.coalesce(visits.c.n, 0).label("home_visits"),
                             latest.c.returned_at, latest.c.closed_at, latest.c.outcome)
            .join(spells, and_(spells.c.student_id == students.c.student_id, spells.c.rn == 1))
            .outerjoin(latest, and_(latest.c.student_id == students.c.student_id, latest.c.rn == 1))
            .outerjoin(visits, visits.c.case_id == latest.c.case_id))


def query(ledger: Ledger, org_under: str, filters: Filters) -> Select:
    stmt = _base(org_under, filters)
    if ledger == "poor-households":
        stmt = stmt.where(naming(students.c.flags, "poor_household"),
                          students.c.status.not_in(sorted(OFF_ROLL)))
    elif ledger == "unable-to-study":
        stmt = stmt.add_columns(when(*((students.c.status == s, a) for s, a in ARRANGEMENTS.items()))
                                .label("arrangement")).where(students.c.status.in_(sorted(ARRANGEMENTS)))
    else:
        stmt = _dropouts(stmt)
    return stmt.order_by(students.c.school_code, students.c.grade, students.c.name, students.c.student_id)


def _present(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "flags": list(row.get("flags") or [])}


async def ledger_rows(uow: UnitOfWork, ledger: Ledger, org_code: str, caller: Principal, filters: Filters,
                      page: PageParams | None) -> tuple[list[dict[str, Any]], int]:
    """A page of the ledger, or (``page`` None, for an export) all of it up to EXPORT_LIMIT rows."""
    org = await org_in_scope(uow, org_code, caller)
    rows, total = await fetch_page(uow.session, query(ledger, org.path, filters),
                                   limit=page.limit if page else EXPORT_LIMIT, offset=page.offset if page else 0)
    return [_present(dict(r)) for r in rows], total
