"""The roll counts (``tables.roll_counts``): the children's newest status rows counted per class
and kind of row, kept by the projection in the same transaction as the facts they count.

They are never adjusted by a delta: whenever a child's history or a class's promotions change,
each class the change touches is counted again from its rows (a class is some fifty children, on
an index). So the counts are a recount of ``student_statuses`` and ``class_grades`` whatever
order the events came in: a late promotion moves the grade of the rows placed before it, a late
status row moves which row is the newest. A school system corrected changes nothing here (the
level is read from the system when the figures are)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, func, or_, select

from reporting.adapters.tables import class_grades, roll_counts, student_statuses
from shared.uow import UnitOfWork

KEYS = ("class_id", "path", "status", "prev_status", "was_out", "grade", "effective_on")


def _epoch(h: Any = student_statuses) -> Any:
    """How many of the row's class's promotions have an event time at or before the row's."""
    g = class_grades
    return (select(func.count()).where(g.c.class_id == h.c.class_id, g.c.at <= h.c.at)
            .correlate(h).scalar_subquery())


def counted(where: Any = None) -> Any:
    """SELECT: the roll counts of the newest rows matching ``where`` (all of them for None)."""
    h = student_statuses
    epoch = _epoch(h).label("epoch")
    cols = [h.c[k] for k in KEYS]
    stmt = select(*cols, epoch, func.count().label("n")).where(h.c.next_on.is_(None))
    if where is not None:
        stmt = stmt.where(where)
    return stmt.group_by(*cols, epoch)


def recount_all() -> list[Any]:
    """The statements that count every class again (a bulk load, the migration that added them)."""
    return [delete(roll_counts), roll_counts.insert().from_select([*KEYS, "epoch", "n"], counted())]


async def _lock(uow: UnitOfWork, keys: Iterable[str]) -> None:
    """On PostgreSQL, one class recounted by one transaction at a time (sorted: no deadlock), so
    that two children of a class applied at once do not each insert a whole class's counts."""
    bind = uow.session.bind
    if bind is None or bind.dialect.name != "postgresql":
        return  # SQLite has one writer at a time
    for key in sorted(set(keys)):
        await uow.session.execute(select(func.pg_advisory_xact_lock(
            func.hashtext("reporting.roll_counts"), func.hashtext(key))))


async def recount(uow: UnitOfWork, classes: Iterable[str], classless_paths: Iterable[str] = ()) -> None:
    """Count these classes again (and the children with no class at these schools)."""
    classes, paths = sorted(set(classes)), sorted(set(classless_paths))
    if not classes and not paths:
        return
    await _lock(uow, [*(f"c:{c}" for c in classes), *(f"p:{p}" for p in paths)])
    h, r = student_statuses, roll_counts
    mine_h = or_(h.c.class_id.in_(classes), and_(h.c.class_id.is_(None), h.c.path.in_(paths)))
    mine_r = or_(r.c.class_id.in_(classes), and_(r.c.class_id.is_(None), r.c.path.in_(paths)))
    await uow.session.execute(delete(r).where(mine_r))
    await uow.session.execute(r.insert().from_select([*KEYS, "epoch", "n"], counted(mine_h)))


async def recount_child(uow: UnitOfWork, student_id: str) -> None:
    """After a row of the child's history was written or moved: every class the child has a row
    in (their newest row was in one of them before the change, and is in one after)."""
    h = student_statuses
    placed = (await uow.session.execute(
        select(h.c.class_id, h.c.path).where(h.c.student_id == student_id).distinct())).all()
    await recount(uow, {c for c, _ in placed if c is not None}, {p for c, p in placed if c is None})
