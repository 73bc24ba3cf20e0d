"""The outbox survives the broker being down: writes go on, rows wait, then are published once.
And the relay keeps publishing while a large import is being checked: nothing blocks the loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from devtools.stack import Broker, free_port
from registry.adapters.tables import import_dry_runs
from registry.domain.national_id import compose
from shared.envelope import TOPIC_REGISTRY
from shared.messaging import outbox
from tests.conftest import POSTGRES, Databases, running
from tests.factories import school_with_class, student_body
from tests.kafka_helpers import eventually, read_all

# A large school's roster: some two seconds of parsing and checking here, mostly off the event loop.
IMPORT_ROWS = 30_000  # ~7 s of row checks: the relay has many poll intervals to publish in


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


@pytest.mark.timing  # a race between the relay and an import: not against another test for the cores
@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL is not reachable")
async def test_the_relay_publishes_another_writes_event_while_a_large_import_is_checked(broker, tmp_path):
    """The import's parse and its row checks run off the event loop: while a county's file is
    checked, another write commits and the relay publishes its event: the broker acknowledged it
    (the outbox row's sent_at) before the import answered, and it is on the topic (read to its
    high watermark). The acknowledgement's time is compared, not when the test's reader got to
    the topic, so a slow reader cannot make the import look first. (PostgreSQL: SQLite begins every transaction
    IMMEDIATE, so there the import's own transaction holds the others back, by design.)"""
    databases = Databases("postgresql", tmp_path)
    try:
        await _relay_during_import(databases.url("registry"), broker)
    finally:
        databases.drop_all()


async def _relay_during_import(url: str, broker) -> None:
    async with running("registry", url, broker.bootstrap) as registry:
        klass = await school_with_class(registry)
        sm = registry.app.state.runtime.sessionmaker

        async def relay_caught_up() -> bool:  # connected, its log checked, the school's events sent
            async with sm() as s:
                return not (await s.execute(select(func.count()).select_from(outbox)
                                            .where(outbox.c.sent_at.is_(None)))).scalar()

        await eventually(relay_caught_up, timeout=30, interval=0.05)
        lines = ["身份证号,姓名,班级"] + [
            f"{compose('410122', date(2012, 9, 1) + timedelta(days=i // 1000), i % 1000)},学生{i},{klass['name']}"
            for i in range(IMPORT_ROWS)]
        importing = asyncio.create_task(registry.post(
            "/v1/students/imports", params={"dry_run": "true"}, data={"school_code": klass["school_code"]},
            files={"file": ("roster.csv", ("\n".join(lines) + "\n").encode())}))
        answered: list[datetime] = []
        importing.add_done_callback(lambda _task: answered.append(datetime.now(UTC)))

        async def counted() -> bool:
            async with sm() as s:
                return bool((await s.execute(select(func.count()).select_from(import_dry_runs))).scalar())

        # A dry run is counted once its file is parsed, just before its rows are checked.
        await eventually(counted, timeout=30, interval=0.01)
        r = await registry.post("/v1/students", json=student_body(klass))
        assert r.status_code == 201, r.text
        student = r.json()["id"]

        async def acknowledged() -> datetime | None:
            async with sm() as s:
                return (await s.execute(select(outbox.c.sent_at).where(outbox.c.subject == student))).scalar()

        sent_at = await eventually(acknowledged, timeout=30, interval=0.01)
        report = await importing
        assert sent_at < answered[0], "the import answered before the other write's event was published"
        assert any(e.subject == student for e in await read_all(broker.bootstrap, TOPIC_REGISTRY))
    assert report.status_code == 200, report.text
    assert (report.json()["rows"], report.json()["valid"]) == (IMPORT_ROWS, IMPORT_ROWS)
