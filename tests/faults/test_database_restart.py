"""The database of one service restarts: the service says not ready (503) meanwhile, and comes
back by itself, its consumer included. A private PostgreSQL cluster is restarted, never the
machine's shared one."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import structlog
from sqlalchemy import func, select

from attendance.adapters.tables import marks
from shared.envelope import TOPIC_REGISTRY
from shared.messaging import inbox
from tests.conftest import running
from tests.factories import PATH, enrolled
from tests.faults.private_postgres import PrivatePostgres, available
from tests.kafka_helpers import eventually, publish

pytestmark = [pytest.mark.faults, pytest.mark.timeout(150),
              # CI must run it: there a missing PostgreSQL is an error, not a skip (as in tests/conftest.py).
              pytest.mark.skipif(not available() and not os.environ.get("CI"),
                                 reason="no PostgreSQL server binaries (initdb, pg_ctl)")]


@pytest.fixture
def private_postgres():
    pg = PrivatePostgres().init()
    pg.start()
    yield pg
    pg.destroy()


async def test_attendance_is_not_ready_while_its_database_restarts_then_recovers(private_postgres, broker):
    pg = private_postgres
    url = pg.create_database("attendance")
    before, during = str(uuid.uuid4()), str(uuid.uuid4())
    await publish(broker.bootstrap, TOPIC_REGISTRY, enrolled(before))
    async with running("attendance", url, broker.bootstrap) as attendance:
        async def status(expected: int):
            resp = await attendance.get("/readyz")
            return resp if resp.status_code == expected else None

        async def known(student: str):
            return (await attendance.get(f"/v1/students/{student}/absence")).status_code == 200

        await eventually(lambda: status(200), timeout=30)
        await eventually(lambda: known(before), timeout=30)

        await asyncio.to_thread(pg.stop)
        down = await eventually(lambda: status(503), timeout=15)
        assert down.headers["content-type"] == "application/problem+json"
        assert down.json()["checks"] == {"database": False, "broker": True}
        # Requests fail fast with a problem (they do not hang), and events wait in the topic.
        failed = await attendance.get(f"/v1/students/{before}/absence")
        assert failed.status_code >= 500 and failed.headers["content-type"] == "application/problem+json"
        with structlog.testing.capture_logs() as logs:
            await publish(broker.bootstrap, TOPIC_REGISTRY, enrolled(during))

            async def met_the_dead_database():
                return any(line.get("event") == "consumer.database_unavailable" for line in logs)

            # The consumer has the record and meets the dead database: it keeps it and retries.
            await eventually(met_the_dead_database, timeout=30)

        await asyncio.to_thread(pg.start)
        await eventually(lambda: status(200), timeout=30)  # nothing restarted the service
        await eventually(lambda: known(during), timeout=30)
        roll_call = await attendance.post("/v1/roll-calls", json={
            "school_code": PATH[-1], "class_id": "c1", "date": "2026-11-16", "session": "am",
            "marks": [{"student_id": before, "status": "present"}, {"student_id": during, "status": "present"}]})
        assert roll_call.status_code == 200, roll_call.text
        # The event that waited is applied once, and the roll call is stored for both children.
        async with attendance.app.state.runtime.sessionmaker() as session:
            applied = (await session.execute(select(func.count()).select_from(inbox))).scalar_one()
            marked = (await session.execute(select(marks.c.student_id))).scalars().all()
        assert applied == 2 and sorted(marked) == sorted([before, during])
