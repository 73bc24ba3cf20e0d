"""Small SQL helpers that differ by dialect, written once."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Executable,
    Select,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.dml import Insert as PgInsert
from sqlalchemy.dialects.sqlite.dml import Insert as SqliteInsert
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignoring_conflicts(session: AsyncSession, table: Table) -> PgInsert | SqliteInsert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the session's dialect."""
    return ignoring_conflicts(dialect_of(session), table)


def ignoring_conflicts(dialect: str, table: Table) -> PgInsert | SqliteInsert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for a dialect named (a statement built once)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


S = TypeVar("S", bound=Executable)


def built_once(build: Callable[[str], S]) -> Callable[[AsyncSession], S]:
    """A statement built once per dialect (``build(dialect_name)``) and executed with its values
    as parameters. SQLAlchemy memoizes a statement's cache key on the object, so a statement kept
    skips its construction and its cache key at every execution, where one built per call pays
    for both: about 0.13 of the 0.30 ms of CPU a typical statement cost a roll call."""
    built: dict[str, S] = {}

    def of(session: AsyncSession) -> S:
        dialect = dialect_of(session)
        stmt = built.get(dialect)
        if stmt is None:
            stmt = built[dialect] = build(dialect)
        return stmt
    return of


def any_of(dialect: str, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column`` among the values bound to ``name`` at execution, for a statement built once
    (`built_once`): one array parameter on PostgreSQL (``= ANY($1)``, see `among`), an expanding
    IN elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


# By the Table object, not its name: services in one process (the tests) have tables of one name.
_insert_many: dict[tuple[Table, tuple[str, ...]], Executable] = {}


async def insert_many(session: AsyncSession, table: Table, rows: list[Mapping[str, Any]]) -> None:
    """Insert rows (all with the same keys) in one statement. On PostgreSQL it is
    ``INSERT ... SELECT unnest($1), unnest($2) ...``, one array parameter per column, so 50 marks
    are one Bind and one Execute rather than 50 of each (executemany); elsewhere executemany.
    For scalar columns (text, numbers, timestamps): an array of JSON values is not a JSON column.
    The statement is built once per table and set of columns (see `built_once`)."""
    if not rows:
        return
    if dialect_of(session) != "postgresql":
        await session.execute(insert(table), list(rows))
        return
    names = tuple(rows[0])
    stmt = _insert_many.get((table, names))
    if stmt is None:
        # The parameters are named apart from the columns: an INSERT reads parameters named
        # after its columns as their values.
        columns = [func.unnest(bindparam(f"many_{n}", type_=postgresql.ARRAY(table.c[n].type))) for n in names]
        stmt = _insert_many[(table, names)] = insert(table).from_select(
            list(names), select(*columns))
    await session.execute(stmt, {f"many_{n}": [r[n] for r in rows] for n in names})


def among(session: AsyncSession, column: ColumnElement[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN (values)``. On PostgreSQL it is ``column = ANY($1)`` with one array parameter:
    the same statement text for any number of values, compiled and prepared once, where IN
    renders one parameter per value at every call (7 % of a roll call's CPU in bench.ingest)."""
    if dialect_of(session) == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


async def upsert(session: AsyncSession, table: Table, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Insert the row, or update it where it exists: how event projections apply a fact, the
    same on SQLite and PostgreSQL (``INSERT ... ON CONFLICT DO NOTHING`` then ``UPDATE``)."""
    await session.execute(insert_ignoring_conflicts(session, table).values(**key, **values))
    await session.execute(update(table).where(*(table.c[k] == v for k, v in key.items())).values(**values))


async def fetch_page(session: AsyncSession, stmt: Select[Any], *, limit: int, offset: int) -> tuple[list[Any], int]:
    """One page of an ordered query and the total count of its rows."""
    total = (await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))).scalar_one()
    rows = (await session.execute(stmt.limit(limit).offset(offset))).mappings().all()
    return list(rows), total


async def affected(session: AsyncSession, stmt: Executable) -> int:
    """Run an UPDATE or DELETE and return how many rows it touched (a claim's "did I win")."""
    result = cast(CursorResult[Any], await session.execute(stmt))
    return result.rowcount
