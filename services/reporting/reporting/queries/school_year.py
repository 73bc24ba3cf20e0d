"""The status history read for the statutory figures of a school year (domain/statutory.py says
what is counted) and for the day's counts: one pass of window functions over the history of the
children who were ever under the org, grouped by where they stood, so the result has a row per
kind of child (a few per school and grade), not per child."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Sequence

from sqlalchemy import and_, func, literal, select, text
from sqlalchemy import case as when

from shared.orgs import DEFAULT_SYSTEM, level_of
from shared.statuses import ATTENDING
from shared.uow import UnitOfWork

from reporting.adapters.tables import class_grades, orgs, student_statuses
from reporting.domain.statutory import IN_SCHOOL, LAST_COMPULSORY_GRADE, SchoolYear, YearRecord
from reporting.queries.read_model import Org, statuses_as_of


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


def year_query(org: Org, year: SchoolYear, days: Sequence[date]) -> Any:
    """Per kind of child (every child ever under the org), for each day ``i`` of ``days`` (all
    in ``year``): start_path, start_grade, drop_path_i, drop_grade_i, now_path_i, now_grade_i,
    now_status_i, moved_i (a transfer received in the year by then), was_out_i (dropped out at
    some time by then), and n.

    One window pass (lag for the status before each row, lead for the date of the next) marks on
    every row whether it was in force at the end of the census day (the year's first day) or of
    each day, whether it is a move into dropped_out within the year, and whether it is a transfer
    received within the year; a second numbers the dropouts so the first one places the child.
    Then one row per child, then the counts per kind of child. Several days in one pass: the
    weekly report's two Fridays share the sort and the windows."""
    h = student_statuses
    census = first = year.first
    last = max(days)
    order = (h.c.effective_on, h.c.at, h.c.id)
    rows = (select(h.c.student_id, h.c.status, h.c.path, h.c.class_id, h.c.grade, h.c.effective_on, h.c.at, h.c.id,
                   func.lag(h.c.status).over(partition_by=h.c.student_id, order_by=order).label("prev"),
                   func.lead(h.c.effective_on).over(partition_by=h.c.student_id, order_by=order).label("next_on"))
            .where(h.c.effective_on <= last, _ever_here(org)).subquery("rows"))

    def in_force(day: date) -> Any:
        return and_(rows.c.effective_on <= day, rows.c.next_on.is_(None) | (rows.c.next_on > day))

    is_drop = and_(rows.c.status == "dropped_out", func.coalesce(rows.c.prev, "") != "dropped_out",
                   rows.c.effective_on >= first)
    marked = (select(rows, in_force(census).label("is_start"),
                     *(in_force(d).label(f"is_now_{i}") for i, d in enumerate(days)),
                     is_drop.label("is_drop"),
                     and_(rows.c.status == "transferred_in", rows.c.effective_on > census).label("is_arrival"),
                     func.row_number().over(partition_by=(rows.c.student_id, is_drop),
                                            order_by=(rows.c.effective_on, rows.c.at, rows.c.id)).label("drop_rn"))
              .subquery("marked"))
    m = marked

    def pick(flag: Any, col: Any) -> Any:
        return func.max(when((flag, col)))

    # A move into dropped_out on the census day itself (the child did not come back after the
    # summer) is a dropout of this year by a child who was in school the day before: they are on
    # the start roll where they dropped out.
    census_drop = and_(m.c.is_drop, m.c.drop_rn == 1, m.c.effective_on == census, m.c.prev.in_(sorted(IN_SCHOOL)))
    at_start = and_(m.c.is_start, m.c.status.in_(sorted(IN_SCHOOL))) | census_drop
    first_drop = and_(m.c.is_drop, m.c.drop_rn == 1)
    per_day = []
    for i, d in enumerate(days):
        now = m.c[f"is_now_{i}"]
        dropped_by = and_(first_drop, m.c.effective_on <= d)
        per_day += [pick(dropped_by, m.c.path).label(f"drop_path_{i}"), pick(dropped_by, m.c.grade).label(f"drop_grade_{i}"),
                    pick(now, m.c.path).label(f"now_path_{i}"), pick(now, m.c.grade).label(f"row_grade_{i}"),
                    pick(now, m.c.class_id).label(f"now_class_{i}"), pick(now, m.c.at).label(f"now_at_{i}"),
                    pick(now, m.c.status).label(f"now_status_{i}"),
                    func.max(when((and_(m.c.is_arrival, m.c.effective_on <= d), 1), else_=0)).label(f"moved_{i}"),
                    # Dropped out at some time by then: an attending child with this came back (劝返复学).
                    func.max(when((and_(m.c.status == "dropped_out", m.c.effective_on <= d), 1),
                                  else_=0)).label(f"was_out_{i}")]
    children = (select(m.c.student_id, pick(at_start, m.c.path).label("start_path"),
                       pick(at_start, m.c.grade).label("start_row_grade"), pick(at_start, m.c.class_id).label("start_class"),
                       pick(at_start, m.c.at).label("start_at"), *per_day)
                .group_by(m.c.student_id).subquery("children"))
    ch = children
    # The grade on a day follows the class's newest promotion by then when it came after the
    # child's row (as statuses_as_of does): a July promotion puts grade 6 in grade 7 at the census.
    p_start = _promoted_by(census).alias("p_start")
    joined = ch.outerjoin(p_start, and_(p_start.c.class_id == ch.c.start_class, p_start.c.rn == 1))
    graded = [when((p_start.c.at > ch.c.start_at, p_start.c.grade), else_=ch.c.start_row_grade).label("start_grade")]
    for i, d in enumerate(days):
        p_now = _promoted_by(d).alias(f"p_now_{i}")
        joined = joined.outerjoin(p_now, and_(p_now.c.class_id == ch.c[f"now_class_{i}"], p_now.c.rn == 1))
        graded.append(when((p_now.c.at > ch.c[f"now_at_{i}"], p_now.c.grade),
                           else_=ch.c[f"row_grade_{i}"]).label(f"now_grade_{i}"))
    passed = [col for col in ch.c if not col.name.startswith(("row_grade_", "now_class_", "now_at_", "start_"))]
    per_child = select(*passed, ch.c.start_path, *graded).select_from(joined).subquery("per_child")
    c = per_child
    # Kinds of child first (a few per school), then the level of each from its school's system.
    keys = [c.c.start_path, c.c.start_grade]
    for i in range(len(days)):
        keys += [c.c[f"drop_path_{i}"], c.c[f"drop_grade_{i}"], c.c[f"now_path_{i}"], c.c[f"now_grade_{i}"],
                 c.c[f"now_status_{i}"], c.c[f"moved_{i}"], c.c[f"was_out_{i}"]]
    # Every child, not only those in the year's flows: the same pass gives the day's counts. The
    # level of each kind is read in Python from its school's system (one small read of the
    # schools): a subquery per kind and column costs more than the whole pass on a county.
    return select(*keys, func.count().label("n")).group_by(*keys)


async def _systems(uow: UnitOfWork) -> dict[str, str]:
    """path -> system of every school the org's children were ever at (those outside it too)."""
    rows = (await uow.session.execute(select(orgs.c.path, orgs.c.system).where(orgs.c.kind == "school"))).all()
    return {path: system or DEFAULT_SYSTEM.value for path, system in rows}


@dataclass
class Day:
    """What one pass over the history gives for a day: the school year's records to its end, and
    the day's tallies (status counts per school and level, as ``read_model.tallies`` without the
    class) of the children under the org."""

    records: list[YearRecord] = field(default_factory=list)
    tallies: list[dict[str, Any]] = field(default_factory=list)


async def year_records(uow: UnitOfWork, org: Org, year: SchoolYear, days: Sequence[date]) -> list[Day]:
    """For each day (all in ``year``), its records and tallies: one query for all of them."""
    if uow.session.bind is not None and uow.session.bind.dialect.name == "postgresql":
        # The history of a county (100,000 children) sorts in some 15 MB: at the default 4 MB
        # work_mem the sort and the grouping spill to disk. For this transaction (a read) only.
        await uow.session.execute(text("SET LOCAL work_mem = '64MB'"))
    systems = await _systems(uow)

    def level(path: str, grade: int | None) -> str:
        return level_of(systems.get(path, DEFAULT_SYSTEM.value), grade) or "primary"

    out = [Day() for _ in days]
    for r in (await uow.session.execute(year_query(org, year, days))).mappings().all():
        start = (r["start_path"], level(r["start_path"], r["start_grade"])) if r["start_path"] else None
        n = int(r["n"])
        for i, day in enumerate(out):
            path, status = r[f"now_path_{i}"], r[f"now_status_{i}"]
            if path is not None and org.under in path:
                day.tallies.append({"path": path, "level": level(path, r[f"now_grade_{i}"]),
                                    "system": systems.get(path, DEFAULT_SYSTEM.value), "status": status,
                                    "returned": n if status in ATTENDING and r[f"was_out_{i}"] else 0, "n": n})
            dropped = r[f"drop_path_{i}"]
            if start is None and dropped is None and not r[f"moved_{i}"]:
                continue  # not in this day's year at all (they joined later, or some other way)
            # Death is not a dropout; it takes the child out of the base (now = none).
            now = None if status == "deceased" or path is None else (path, level(path, r[f"now_grade_{i}"]))
            day.records.append(YearRecord(
                start=start, dropped=(dropped, level(dropped, r[f"drop_grade_{i}"])) if dropped else None, now=now,
                # A transfer received in the year brought them where they are (or where they dropped out).
                arrived=(path or dropped) if r[f"moved_{i}"] else None, n=n))
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
