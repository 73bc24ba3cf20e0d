"""The status history read for the statutory figures of a school year (domain/statutory.py says
what is counted): one pass of window functions over the history of the children who were ever
under the org, grouped by where they stood, so the result has a row per kind of child (a few per
school), not per child."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, literal, select
from sqlalchemy import case as when

from shared.orgs import DEFAULT_SYSTEM
from shared.uow import UnitOfWork

from reporting.adapters.tables import class_grades, orgs, student_statuses
from reporting.domain.statutory import IN_SCHOOL, LAST_COMPULSORY_GRADE, SchoolYear, YearRecord
from reporting.read_model import Org, level_sql, statuses_as_of


def _ever_here(org: Org) -> Any:
    h = student_statuses
    return h.c.student_id.in_(select(h.c.student_id).where(h.c.path.contains(org.under, autoescape=True)))


def _promoted_by(day: date) -> Any:
    """Each class's newest promotion effective by ``day`` (a child's grade follows it when it came
    after the child's own row)."""
    g = class_grades
    return (select(g.c.class_id, g.c.grade, g.c.at, func.row_number().over(
        partition_by=g.c.class_id, order_by=(g.c.effective_on.desc(), g.c.at.desc())).label("rn"))
        .where(g.c.effective_on <= day).subquery())


def year_query(org: Org, year: SchoolYear, through: date) -> Any:
    """(start_path, start_level, drop_path, drop_level, now_path, now_level, arrived, n).

    One window pass (lag for the status before each row, lead for the date of the next) marks on
    every row whether it was in force at the end of the census day (the year's first day) or of
    ``through``, whether it is a move into dropped_out within the year, and whether it is a
    transfer received within the year; a second numbers the dropouts so the first one places the
    child. Then one row per child, then the counts per kind of child."""
    h = student_statuses
    census = first = year.first
    order = (h.c.effective_on, h.c.at, h.c.id)
    rows = (select(h.c.student_id, h.c.status, h.c.path, h.c.class_id, h.c.grade, h.c.effective_on, h.c.at, h.c.id,
                   func.lag(h.c.status).over(partition_by=h.c.student_id, order_by=order).label("prev"),
                   func.lead(h.c.effective_on).over(partition_by=h.c.student_id, order_by=order).label("next_on"))
            .where(h.c.effective_on <= through, _ever_here(org)).subquery("rows"))

    def in_force(day: date) -> Any:
        return and_(rows.c.effective_on <= day, rows.c.next_on.is_(None) | (rows.c.next_on > day))

    is_drop = and_(rows.c.status == "dropped_out", func.coalesce(rows.c.prev, "") != "dropped_out",
                   rows.c.effective_on >= first)
    marked = (select(rows, in_force(census).label("is_start"), in_force(through).label("is_now"),
                     is_drop.label("is_drop"),
                     and_(rows.c.status == "transferred_in", rows.c.effective_on > census).label("is_arrival"),
                     func.row_number().over(partition_by=(rows.c.student_id, is_drop),
                                            order_by=(rows.c.effective_on, rows.c.at, rows.c.id)).label("drop_rn"),
                     func.row_number().over(partition_by=(rows.c.student_id, rows.c.status == "transferred_in"),
                                            order_by=(rows.c.effective_on.desc(), rows.c.at.desc(),
                                                      rows.c.id.desc())).label("arrival_rn"))
              .subquery("marked"))
    m = marked

    def pick(flag: Any, col: Any) -> Any:
        return func.max(when((flag, col)))

    start_flag = and_(m.c.is_start, m.c.status.in_(sorted(IN_SCHOOL)))
    # A move into dropped_out on the census day itself (the child did not come back after the
    # summer) is a dropout of this year by a child who was in school the day before: they are on
    # the start roll where they dropped out.
    census_drop = and_(m.c.is_drop, m.c.drop_rn == 1, m.c.effective_on == census,
                       m.c.prev.in_(sorted(IN_SCHOOL)))
    first_drop = and_(m.c.is_drop, m.c.drop_rn == 1)
    arrival = and_(m.c.is_arrival, m.c.arrival_rn == 1)
    per_child = (select(
        m.c.student_id,
        pick(start_flag | census_drop, m.c.path).label("start_path"),
        pick(start_flag | census_drop, m.c.grade).label("start_grade"),
        pick(start_flag | census_drop, m.c.class_id).label("start_class"),
        pick(start_flag | census_drop, m.c.at).label("start_at"),
        pick(first_drop, m.c.path).label("drop_path"),
        pick(first_drop, m.c.grade).label("drop_grade"),
        pick(m.c.is_now, m.c.path).label("now_path"),
        pick(m.c.is_now, m.c.grade).label("now_grade"),
        pick(m.c.is_now, m.c.class_id).label("now_class"),
        pick(m.c.is_now, m.c.at).label("now_at"),
        pick(m.c.is_now, m.c.status).label("now_status"),
        pick(arrival, m.c.path).label("arrived"))
        .group_by(m.c.student_id).subquery("per_child"))
    c = per_child
    # Grades on the two days follow the class's promotions, as statuses_as_of does.
    p_start, p_now = _promoted_by(census).alias("p_start"), _promoted_by(through).alias("p_now")
    s_school, d_school, n_school = orgs.alias("s_school"), orgs.alias("d_school"), orgs.alias("n_school")

    def system(school: Any) -> Any:
        return func.coalesce(school.c.system, DEFAULT_SYSTEM.value)

    start_grade = when((p_start.c.at > c.c.start_at, p_start.c.grade), else_=c.c.start_grade)
    now_grade = when((p_now.c.at > c.c.now_at, p_now.c.grade), else_=c.c.now_grade)
    start_level = level_sql(start_grade, system(s_school)).label("start_level")
    drop_level = level_sql(c.c.drop_grade, system(d_school)).label("drop_level")
    now_level = level_sql(now_grade, system(n_school)).label("now_level")
    # Death is not a dropout; it takes the child out of the base (now = none).
    now_path = when((c.c.now_status == "deceased", None), else_=c.c.now_path).label("now_path")
    return (select(c.c.start_path, start_level, c.c.drop_path, drop_level, now_path, now_level, c.c.arrived,
                   func.count().label("n"))
            .select_from(c.outerjoin(p_start, and_(p_start.c.class_id == c.c.start_class, p_start.c.rn == 1))
                         .outerjoin(p_now, and_(p_now.c.class_id == c.c.now_class, p_now.c.rn == 1))
                         .outerjoin(s_school, s_school.c.path == c.c.start_path)
                         .outerjoin(d_school, d_school.c.path == c.c.drop_path)
                         .outerjoin(n_school, n_school.c.path == c.c.now_path))
            .where(c.c.start_path.is_not(None) | c.c.drop_path.is_not(None) | c.c.arrived.is_not(None))
            .group_by(c.c.start_path, start_level, c.c.drop_path, drop_level, now_path, now_level, c.c.arrived))


async def year_records(uow: UnitOfWork, org: Org, year: SchoolYear, through: date) -> list[YearRecord]:
    out = []
    for r in (await uow.session.execute(year_query(org, year, through))).mappings().all():
        out.append(YearRecord(
            start=(r["start_path"], r["start_level"]) if r["start_path"] else None,
            dropped=(r["drop_path"], r["drop_level"]) if r["drop_path"] else None,
            now=(r["now_path"], r["now_level"]) if r["now_path"] else None,
            arrived=r["arrived"], n=int(r["n"])))
    return out


async def records_from(uow: UnitOfWork, org: Org) -> date | None:
    """The earliest day the history under the org reaches back to."""
    h = student_statuses
    return (await uow.session.execute(select(func.min(h.c.effective_on)).where(
        h.c.path.contains(org.under, autoescape=True)))).scalar_one_or_none()


async def nine_year_counts(uow: UnitOfWork, org: Org, year: SchoolYear, through: date) -> list[dict[str, Any]]:
    """(now_path, graduated, n) for the cohort that entered grade 1 in the year ``COHORT_YEARS``
    before: the children in grade 1 and in school at that year's census, each placed where their
    record is on ``through`` (a transfer moves them, so the entrants are net of transfers; a
    dropout stays where they were), and whether they graduated from grade 9 during ``year``.
    Graduates who are not in the cohort's records (they came from outside) count in neither."""
    entry = year.back(LAST_COMPULSORY_GRADE - 1)
    ever = _ever_here(org)
    then = statuses_as_of(entry.first, only=ever)
    now = statuses_as_of(through, only=ever).alias("now_")
    h = student_statuses
    graduated_in_year = select(h.c.student_id).where(
        h.c.status == "graduated", h.c.grade == LAST_COMPULSORY_GRADE, h.c.effective_on >= year.first,
        h.c.effective_on <= through)
    graduated = when((and_(now.c.status == "graduated", now.c.student_id.in_(graduated_in_year)), literal(1)),
                     else_=literal(0))
    stmt = (select(now.c.path, graduated.label("graduated"), func.count().label("n"))
            .select_from(then.join(now, now.c.student_id == then.c.student_id))
            .where(then.c.grade == 1, then.c.status.in_(sorted(IN_SCHOOL)), now.c.status != "deceased",
                   now.c.path.contains(org.under, autoescape=True))
            .group_by(now.c.path, graduated))
    return [dict(r) for r in (await uow.session.execute(stmt)).mappings().all()]
