"""Async engine and sessions, the same way in every service."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str) -> AsyncEngine:
    """``hide_parameters``: a refused statement's error message would otherwise carry its
    parameters (IDs, names, phones) into whatever logs it."""
    if is_sqlite(url):
        db = make_url(url).database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _tune_sqlite(engine)
        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=10, hide_parameters=True)
    _ping_when_idle(engine)
    return engine


# A pooled connection idle this long is pinged before use: the database may have restarted
# meanwhile. pool_pre_ping would ping at every checkout, one more round trip per transaction
# (10 % of bench.ingest); a busy connection that breaks in use raises a disconnect error instead,
# which invalidates the whole pool, so the requests in flight at that moment are the only ones
# that see it (as a 503 problem).
IDLE_PING_S = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _fresh(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < IDLE_PING_S:
            return
        try:
            dbapi_conn.ping()
        except Exception as exc:  # the pool discards this connection and opens another
            raise DisconnectionError(f"stale pooled connection: {exc!r}") from exc


def _tune_sqlite(engine: AsyncEngine) -> None:
    # SQLite serialises writers: WAL lets readers run beside the writer, and the busy timeout
    # makes a second writer wait instead of failing with "database is locked".
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - exercised by every SQLite test
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over
    # (the recipe from SQLAlchemy's SQLite dialect docs) and begin IMMEDIATE so two writers
    # queue on the busy timeout instead of deadlocking on a lock upgrade.
    @event.listens_for(engine.sync_engine, "connect")
    def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover
        dbapi_conn.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:  # pragma: no cover
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_connection_problem(exc: BaseException) -> bool:
    """The database is unreachable or restarting (retry later), rather than refusing the statement."""
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    text = str(exc).lower()
    return any(s in text for s in ("connection", "could not connect", "database is locked", "terminat",
                                   "shutting down", "starting up"))
