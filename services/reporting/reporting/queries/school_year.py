"""The status history read for the statutory figures of a school year (domain/statutory.py says
what is counted) and for the day's counts, grouped by where each child stood, so the result has
a row per kind of child (a few per school and grade), not per child.

Most children have no row taking effect in the year: the one row in force at the census is in
force all year. They are counted straight from that row (``steady_query``: one scan, no window,
through the links the projection keeps on each row, ``usecases.projections.link_history``). The
others (a dropout, a transfer, a joiner: a few in a hundred) go through the window pass over
their whole history (``year_query``). The two sets are disjoint and together are every child."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, text
from sqlalchemy import case as when

from reporting.adapters.tables import class_grades, orgs, roll_counts, student_statuses
from reporting.domain.statutory import IN_SCHOOL, LAST_COMPULSORY_GRADE, SchoolYear, YearRecord
from reporting.queries.read_model import Org, statuses_as_of
from shared.orgs import DEFAULT_SYSTEM, level_of
from shared.paths import within as at_or_under
from shared.statuses import ATTENDING
from shared.uow import UnitOfWork


def _ever_here(org: Org) -> Any:
    h = student_statuses
    return h.c.student_id.in_(select(h.c.student_id).where(at_or_under(h.c.path, org.path)))


def _changes_in(year: SchoolYear, last: date, rows: Any = student_statuses) -> Any:
    """SQL condition on a status row: it takes effect in ``year`` by ``last`` (the census day
    counts, unless it is the child's first row: a child enrolled that day has one row all year)."""
    census = year.first
    # Two ranges of the (effective_on, prev_status) index.
    return or_(and_(rows.c.effective_on > census, rows.c.effective_on <= last),
               and_(rows.c.effective_on == census, rows.c.prev_status.is_not(None)))


def _changing_here(org: Org, year: SchoolYear, last: date) -> Any:
    """SQL condition on student_statuses: the child was ever under the org and has a row that
    takes effect in the year by ``last``."""
    h, c = student_statuses, student_statuses.alias("changes")
    changing = select(c.c.student_id).where(_changes_in(year, last, c))
    return h.c.student_id.in_(select(c.c.student_id).where(
        c.c.path.contains(org.under, autoescape=True), c.c.student_id.in_(changing)))


def _promoted_by(day: date) -> Any:
    """Each class's newest promotion effective by ``day`` (a child's grade follows it when it came
    after the child's own row), with its ``at_rank``: how many of the class's promotions have an
    event time at or before its own, so that "after the row" is also ``at_rank > epoch`` for a
    roll count (``tables.roll_counts``)."""
    g = class_grades
    ranked = select(g.c.id, g.c.class_id, g.c.grade, g.c.at, g.c.effective_on, func.count().over(
        partition_by=g.c.class_id, order_by=g.c.at).label("at_rank")).subquery()
    return (select(ranked.c.class_id, ranked.c.grade, ranked.c.at, ranked.c.at_rank, func.row_number().over(
        partition_by=ranked.c.class_id,
        order_by=(ranked.c.effective_on.desc(), ranked.c.at.desc(), ranked.c.id.desc())).label("rn"))
        .where(ranked.c.effective_on <= day).subquery())


def year_query(org: Org, year: SchoolYear, days: Sequence[date], by_class: bool = False) -> Any:
    """Per kind of child (every child ever under the org with a row taking effect in the year by
    the last of ``days``), for each day ``i`` of ``days`` (all in ``year``): start_path,
    start_grade, drop_path_i, drop_grade_i, now_path_i, now_grade_i, now_status_i, moved_i (a
    transfer received in the year by then), was_out_i (dropped out at some time by then),
    now_class_i ``by_class`` only, and n.

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
            .where(h.c.effective_on <= last, _changing_here(org, year, last)).subquery("rows"))

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
    dropped_cols = ("row_grade_", "now_at_", "start_") if by_class else ("row_grade_", "now_class_", "now_at_", "start_")
    passed = [col for col in ch.c if not col.name.startswith(dropped_cols)]
    per_child = select(*passed, ch.c.start_path, *graded).select_from(joined).subquery("per_child")
    c = per_child
    # Kinds of child first (a few per school), then the level of each from its school's system.
    keys = [c.c.start_path, c.c.start_grade]
    for i in range(len(days)):
        keys += [c.c[f"drop_path_{i}"], c.c[f"drop_grade_{i}"], c.c[f"now_path_{i}"], c.c[f"now_grade_{i}"],
                 c.c[f"now_status_{i}"], c.c[f"moved_{i}"], c.c[f"was_out_{i}"]]
        keys += [c.c[f"now_class_{i}"]] if by_class else []
    # Every child, not only those in the year's flows: the same pass gives the day's counts. The
    # level of each kind is read in Python from its school's system (one small read of the
    # schools): a subquery per kind and column costs more than the whole pass on a county.
    return select(*keys, func.count().label("n")).group_by(*keys)


def _promotions(days: Sequence[date], last: date) -> Any:
    """Each promoted class's newest promotion by each of ``days``, on one row (grade_i, at_i,
    rank_i): the children's rows or counts are joined to it once."""
    g = class_grades
    promoted: Any = select(g.c.class_id).where(g.c.effective_on <= last).distinct().subquery("promoted")
    joined: Any = promoted
    cols = [promoted.c.class_id]
    for i, d in enumerate(days):
        p = _promoted_by(d).alias(f"p_{i}")
        joined = joined.outerjoin(p, and_(p.c.class_id == promoted.c.class_id, p.c.rn == 1))
        cols += [p.c.grade.label(f"grade_{i}"), p.c.at.label(f"at_{i}"), p.c.at_rank.label(f"rank_{i}")]
    return select(*cols).select_from(joined).subquery("promotions")


def _steady(source: Any, org: Org, year: SchoolYear, days: Sequence[date], after: Any, n: Any,
            by_class: bool = False) -> Any:
    """The counts per kind of steady child from ``source`` (status rows, or roll counts) whose
    rows are in force from the census (``source`` already holds only such rows as far as their
    end goes): ``after(promotions, i)`` says whether the class's newest promotion by day i came
    after the row, ``n`` how many children a row stands for; ``by_class``: the class first."""
    census = year.first
    r = (select(source).where(source.c.effective_on <= census,
                              (source.c.effective_on < census) | source.c.prev_status.is_(None),
                              source.c.path.contains(org.under, autoescape=True))
         .subquery("steady"))
    promotions = _promotions([census, *days], max(days))
    grades = [when((after(promotions, r, i), promotions.c[f"grade_{i}"]), else_=r.c.grade)
              for i in range(len(days) + 1)]
    is_drop = and_(r.c.status == "dropped_out", func.coalesce(r.c.prev_status, "") != "dropped_out",
                   r.c.effective_on >= census)
    per_row = (select(*([r.c.class_id] if by_class else []), r.c.path, r.c.status, is_drop.label("is_drop"), r.c.was_out, r.c.grade,
                      grades[0].label("start_grade"), *(g.label(f"now_grade_{i}") for i, g in enumerate(grades[1:])),
                      n(r).label("n"))
               .select_from(r.outerjoin(promotions, promotions.c.class_id == r.c.class_id)).subquery())
    keys = [c for c in per_row.c if c.name != "n"]
    return select(*keys, func.sum(per_row.c.n).label("n")).group_by(*keys)


def steady_query(org: Org, year: SchoolYear, days: Sequence[date], by_class: bool = False) -> Any:
    """Per kind of child under the org with no row taking effect in the year by the last of
    ``days`` and a newer row after it (the rest of such children are ``kept_query``'s): path,
    status, is_drop, was_out, grade (the row's own), start_grade (at the census), now_grade_i
    for each day, and n.

    Such a child's row in force at the census (its ``next_on`` is after the last day) is in
    force on every day: it gives where they are, and where they were at the start if they were
    in school. It is a dropout of the year (``is_drop``) only if it took effect on the census
    day as the child's first row. A child whose row lies outside the org counts in none of its
    figures, so only rows under it are read. Grouped on these few columns only (the places are
    made from them in Python).

    No other row is looked at: a child with a row in the year after the census has no row in
    force from the census to the last day, and one with a second row on the census day has it
    as this row (the newest by then), with a previous status: ``_changes_in`` takes both."""
    h = student_statuses
    rows = select(h).where(h.c.next_on > max(days)).subquery("later")
    return _steady(rows, org, year, days, lambda p, r, i: p.c[f"at_{i}"] > r.c.at, lambda r: literal(1), by_class)


def kept_query(org: Org, year: SchoolYear, days: Sequence[date], by_class: bool = False) -> Any:
    """``steady_query``'s figures for the children whose row in force at the census is still
    their newest: from the roll counts the projection keeps (``tables.roll_counts``, a few rows
    per class) instead of a city's million status rows. A count's ``epoch`` stands for its
    rows' event time against the class's promotions (``_promoted_by``)."""
    return _steady(roll_counts, org, year, days, lambda p, r, i: p.c[f"rank_{i}"] > r.c.epoch, lambda r: r.c.n,
                   by_class)


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


async def year_records(uow: UnitOfWork, org: Org, year: SchoolYear, days: Sequence[date],
                       by_class: bool = False) -> list[Day]:
    """For each day (all in ``year``), its records and tallies: three queries for all of them
    (the children with changes in the year, the others from the roll counts, and from the rows
    whose successor came after the last day). Kinds of child that differ only where no figure
    looks (a grade within a level) are added up into one record and one tally; ``by_class``:
    the tallies are per class (with its grade on the day), as ``read_model.tallies``."""
    if uow.session.bind is not None and uow.session.bind.dialect.name == "postgresql":
        # The history of a county (100,000 children) sorts in some 15 MB: at the default 4 MB
        # work_mem the sort and the grouping spill to disk. Compiling the passes to machine code
        # (JIT) costs more than it saves on a city (0.4 s of 3.5 s). For this read only.
        await uow.session.execute(text("SET LOCAL work_mem = '64MB'"))
        await uow.session.execute(text("SET LOCAL jit = off"))
    systems = await _systems(uow)
    levels: dict[tuple[str, int | None], str] = {}

    def level(path: str, grade: int | None) -> str:
        if (path, grade) not in levels:
            levels[path, grade] = level_of(systems.get(path, DEFAULT_SYSTEM.value), grade) or "primary"
        return levels[path, grade]

    tallies: list[dict[tuple, list[int]]] = [defaultdict(lambda: [0, 0]) for _ in days]
    records: list[Counter] = [Counter() for _ in days]

    def count(i: int, start: Any, dropped: Any, path: str | None, grade: int | None, status: str | None,
              was_out: Any, moved: Any, n: int, cls: str | None = None) -> None:
        now_level = level(path, grade) if path is not None else None
        if path is not None and org.under in path:
            tally = tallies[i][(path, now_level, status, cls, grade) if by_class else (path, now_level, status)]
            tally[0] += n if status in ATTENDING and was_out else 0
            tally[1] += n
        if start is None and dropped is None and not moved:
            return  # not in this day's year at all (they joined later, or some other way)
        # Death is not a dropout; it takes the child out of the base (now = none).
        now = None if status == "deceased" or path is None else (path, now_level)
        # A transfer received in the year brought them where they are (or where they dropped out).
        records[i][start, dropped, now, (path or (dropped and dropped[0])) if moved else None] += n

    def place(path: str | None, grade: int | None) -> tuple[str, str] | None:
        return (path, level(path, grade)) if path else None

    names = [(f"drop_path_{i}", f"drop_grade_{i}", f"now_path_{i}", f"now_grade_{i}", f"now_status_{i}",
              f"was_out_{i}", f"moved_{i}", f"now_class_{i}") for i in range(len(days))]
    for r in (await uow.session.execute(year_query(org, year, days, by_class))).mappings():
        start, n = place(r["start_path"], r["start_grade"]), int(r["n"])
        for i, (dp, dg, np_, ng, ns, wo, mv, nc) in enumerate(names):
            count(i, start, place(r[dp], r[dg]), r[np_], r[ng], r[ns], r[wo], r[mv], n, r[nc] if by_class else None)
    # The children with no change in the year: the same row on every day, only the grade may
    # differ (a class promoted between the days).
    for query in (kept_query, steady_query):
        for row in (await uow.session.execute(query(org, year, days, by_class))).all():
            cls, (path, status, is_drop, was_out, grade, start_grade, *grades, n) = (
                (row[0], row[1:]) if by_class else (None, row))
            start = place(path, start_grade) if status in IN_SCHOOL else None
            dropped = place(path, grade) if is_drop else None
            for i, now_grade in enumerate(grades):
                count(i, start, dropped, path, now_grade, status, bool(was_out), 0, int(n), cls)
    return [Day(records=[YearRecord(start=st, dropped=dr, now=nw, arrived=ar, n=n)
                         for (st, dr, nw, ar), n in rec.items()],
                tallies=[{"path": key[0], "level": key[1], "system": systems.get(key[0], DEFAULT_SYSTEM.value),
                          "status": key[2], "returned": returned, "n": n,
                          **({"class_id": key[3], "grade": key[4]} if by_class else {})}
                         for key, (returned, n) in tal.items()])
            for rec, tal in zip(records, tallies)]


async def records_from(uow: UnitOfWork, org: Org) -> date | None:
    """The earliest day the history under the org reaches back to."""
    h = student_statuses
    return (await uow.session.execute(select(func.min(h.c.effective_on)).where(
        at_or_under(h.c.path, org.path)))).scalar_one_or_none()


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
                   at_or_under(now.c.path, org.path))
            .group_by(now.c.path, graduated))
    return [dict(r) for r in (await uow.session.execute(stmt)).mappings().all()]
