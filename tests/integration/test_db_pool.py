"""Pooled PostgreSQL connections: pinged before use only after they sat idle (a restart may have
killed them meanwhile), not at every checkout. A server-side kill of a connection idle that long
is invisible to the next request; a busy connection that breaks surfaces as a disconnect, once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared import db
from tests.conftest import POSTGRES, Databases, _pg_admin

pytestmark = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL is not reachable")


async def _pooled_backend_killed(engine) -> None:
    """Use one connection (it goes back to the pool), then terminate its server process."""
    async with engine.connect() as conn:
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    await _pg_admin(f"SELECT pg_terminate_backend({pid})")


async def test_a_connection_killed_while_idle_is_replaced_before_use(tmp_path, monkeypatch):
    dbs = Databases("postgresql", tmp_path)
    engine = db.make_engine(dbs.url("pool"))
    try:
        monkeypatch.setattr(db, "IDLE_PING_S", 0.2)
        await _pooled_backend_killed(engine)
        await asyncio.sleep(0.3)  # idle past the ping age: checked before it is handed out
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1

        # Used again at once, it is not pinged: the break shows as a disconnect, and the pool
        # is invalidated so the next request gets a fresh connection.
        monkeypatch.setattr(db, "IDLE_PING_S", 3600)
        await _pooled_backend_killed(engine)
        with pytest.raises(DBAPIError) as caught:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert db.is_connection_problem(caught.value)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
        dbs.drop_all()
