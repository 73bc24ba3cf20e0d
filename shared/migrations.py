"""Alembic, one history per service, driven the same way by every service's env.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData, pool
from sqlalchemy.ext.asyncio import async_engine_from_config

from shared import audit as _audit  # noqa: F401 - registers the audit table on the shared metadata
from shared import idempotency as _idempotency  # noqa: F401 - and the idempotency keys table
from shared.db import is_sqlite, make_engine
from shared.settings import ServiceSettings


def run_env(target_metadata: list[MetaData], settings_cls: type[ServiceSettings]) -> None:
    """Body of each service's migrations/env.py. The URL is the one given by ``upgrade()``, else
    the service's settings (BAOXUE_DATABASE_URL), so plain ``alembic -c ... upgrade head`` works."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or settings_cls().database_url

    def do_run(connection: Connection) -> None:
        sqlite = is_sqlite(url)
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename); with foreign keys enforced, dropping
            # a table other rows reference fails. The pragma only takes effect outside a
            # transaction, so it goes on the raw connection before the migration's BEGIN, and the
            # references are checked once the migration is done.
            _pragma(connection, "PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,  # SQLite cannot ALTER most things in place
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows referencing nothing: {broken[:5]}")
        if sqlite:
            _pragma(connection, "PRAGMA foreign_keys=ON")

    async def run_async() -> None:
        engine = make_engine(url) if is_sqlite(url) else async_engine_from_config(
            {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
        )
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())


def _pragma(connection: Connection, sql: str) -> None:
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None  # a live connection of the migration's own
    cursor = dbapi.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def upgrade(service_dir: Path, database_url: str, revision: str = "head") -> None:
    """``alembic upgrade head`` for one service. Runs its own event loop: call it from a thread
    (``asyncio.to_thread``) when a loop is already running."""
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str(service_dir / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, revision)
