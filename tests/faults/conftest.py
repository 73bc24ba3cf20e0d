"""Fault tests run on one backend (PostgreSQL when it answers, else SQLite): they are slow
by nature (outages, restarts), and the faults are the same on both."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from devtools.stack import Stack, free_port
from tests.conftest import BACKENDS, TEST_JWT_SECRET, Databases

FAULT_BACKEND = BACKENDS[-1]


@pytest.fixture
def fault_databases(tmp_path: Path):
    dbs = Databases(FAULT_BACKEND, tmp_path)
    yield dbs
    dbs.drop_all()


def stack_for(services, databases: Databases, broker, tmp_path: Path, **env: str) -> Stack:
    """Services as processes (as `make run` starts them), each with its own database."""
    return Stack(
        var_dir=tmp_path / "var", kafka_bootstrap=broker.bootstrap,
        ports={svc: free_port() for svc in services},
        database_urls={svc: databases.url(svc) for svc in services},
        # Roll calls here mark the last three calendar days absent, weekend or not: count wall-clock
        # hours and fire at once (the school-hours rule has its own tests).
        env={"BAOXUE_DETECTOR_INTERVAL_S": "0.5", "BAOXUE_OUTBOX_POLL_INTERVAL_S": "0.1",
             "BAOXUE_ABSENCE_COUNTING": "wall_clock", "BAOXUE_ABSENCE_ROLL_CALL_GRACE_MINUTES": "0",
             "BAOXUE_JWT_SECRET": TEST_JWT_SECRET, "BAOXUE_WRITES_PER_MINUTE": "100000",
             # Nobody checks these cases: their dual reports leave at a deadline of about a second.
             "BAOXUE_VERIFY_DEADLINE_HOURS": "0.0003", "BAOXUE_ESCALATION_INTERVAL_S": "0.5", **env},
    )


class Counter:
    """Counts rows in a service's database from the test (effects, inbox, outbox)."""

    def __init__(self, url: str) -> None:
        self.engine = create_async_engine(url)

    async def rows(self, table, *where) -> int:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()

    async def close(self) -> None:
        await self.engine.dispose()
