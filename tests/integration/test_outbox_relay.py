"""The outbox survives the broker being down: writes go on, rows wait, then are published once."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from devtools.stack import Broker, free_port
from shared.envelope import TOPIC_REGISTRY
from shared.messaging import outbox
from tests.conftest import running
from tests.factories import school_with_class, student_body
from tests.kafka_helpers import eventually, read_all


async def test_writes_go_on_while_the_broker_is_down_and_rows_are_published_once_it_is_back(databases, tmp_path):
    port = free_port()  # nothing listens here until the broker is started below
    async with running("registry", databases.url("registry"), f"127.0.0.1:{port}") as registry:
        klass = await school_with_class(registry)
        students = []
        for _ in range(3):
            # No request waits on Kafka: each answers well inside the broker's send timeout.
            r = await asyncio.wait_for(registry.post("/v1/students", json=student_body(klass)), 5)
            assert r.status_code == 201, r.text
            students.append(r.json()["id"])
        ready = await registry.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"] == {"database": True, "broker": False}
        assert ready.headers["content-type"] == "application/problem+json"

        sm = registry.app.state.runtime.sessionmaker

        async def unsent() -> int:
            async with sm() as s:
                return len((await s.execute(select(outbox.c.id).where(outbox.c.sent_at.is_(None)))).all())

        assert await unsent() == 5 + 3  # five orgs registered, three students enrolled
        broker = Broker(port, tmp_path / "late-broker.log")
        broker.start()
        try:
            await eventually(lambda: _is_zero(unsent), timeout=60)
            assert (await registry.get("/readyz")).status_code == 200
            # Every row is marked sent, so the relay has nothing more to send: what the topic holds
            # up to its high watermark is all it will ever hold of these rows.
            events = await read_all(broker.bootstrap, TOPIC_REGISTRY)
        finally:
            broker.stop()
    enrolled = [e.subject for e in events if e.type == "baoxue.registry.student.enrolled"]
    assert sorted(enrolled) == sorted(students)  # each exactly once, none lost
    assert len(events) == 8


async def _is_zero(check) -> bool:
    return await check() == 0
