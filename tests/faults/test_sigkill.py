"""Each consumer service is SIGKILLed in the middle of a backlog and restarted: no event is
lost and none is applied twice (effects counted in its database and over HTTP)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from shared.envelope import TOPIC_ATTENDANCE, TOPIC_REGISTRY, Event
from shared.messaging import inbox, outbox
from tests.conftest import bearer
from tests.factories import CHAIN, PATH, Counter, enrolled, stack_for, threshold
from tests.kafka_helpers import eventually, group_has_consumed_everything, publish_many

pytestmark = [pytest.mark.faults, pytest.mark.timeout(150)]


def org_events() -> list[Event]:
    return [Event(type="baoxue.registry.org.registered", source="/baoxue/registry", subject=o["code"], data={
        "code": o["code"], "name": o["name"], "kind": o["kind"], "parent_code": PATH[i - 1] if i else None,
        "path": PATH[: i + 1]}) for i, o in enumerate(CHAIN)]


@dataclass
class Burst:
    topic: str
    events: list[Event]
    check: Callable[[httpx.AsyncClient, Counter, list[str]], Awaitable[None]]


async def attendance_effects(api: httpx.AsyncClient, db: Counter, students: list[str]) -> None:
    from attendance.adapters.tables import roster

    assert await db.rows(roster) == len(students)
    for student in students[:: len(students) // 10]:
        assert (await api.get(f"/v1/students/{student}/absence")).status_code == 200


async def cases_effects(api: httpx.AsyncClient, db: Counter, students: list[str]) -> None:
    page = (await api.get("/v1/cases", params={"org_code": PATH[-1], "limit": 500})).json()
    assert page["total"] == len(students)
    assert sorted(c["student_id"] for c in page["items"]) == sorted(students)  # one case each
    assert await db.rows(outbox, outbox.c.event_type == "baoxue.cases.case.opened") == len(students)
    # The reports leave at the verification deadline (about a second after each opening).
    issued = outbox.c.event_type == "baoxue.cases.dual_report.issued"
    await eventually(lambda: _at_least(db.rows(outbox, issued), 2 * len(students)), timeout=30)
    assert await db.rows(outbox, issued) == 2 * len(students)


async def _at_least(count, n: int) -> bool:
    return await count >= n


async def reporting_effects(api: httpx.AsyncClient, db: Counter, students: list[str]) -> None:
    summary = (await api.get("/v1/reports/summary", params={"org_code": PATH[2]})).json()
    assert summary["enrolled"] == len(students), summary


def burst(service: str, students: list[str]) -> Burst:
    if service == "attendance":
        return Burst(TOPIC_REGISTRY, [enrolled(s) for s in students], attendance_effects)
    if service == "cases":
        return Burst(TOPIC_ATTENDANCE, [threshold(s, "2026-11-14T00:00:00+00:00") for s in students], cases_effects)
    return Burst(TOPIC_REGISTRY, org_events() + [enrolled(s) for s in students], reporting_effects)


SIZES = {"attendance": 800, "cases": 300, "reporting": 800}


@pytest.mark.parametrize("service", ["attendance", "cases", "reporting"])
async def test_a_consumer_killed_mid_batch_loses_nothing_and_applies_nothing_twice(service, fault_databases, broker,
                                                                                   tmp_path):
    stack = stack_for([service], fault_databases, broker, tmp_path)
    students = [str(uuid.uuid4()) for _ in range(SIZES[service])]
    work = burst(service, students)
    # The database holds the schema already (Databases.url): the consumer starts on the backlog.
    await publish_many(broker.bootstrap, work.topic, work.events)  # a backlog waiting for the consumer
    db = Counter(stack.database_url(service))
    try:
        stack.start(service)

        async def started() -> int | None:
            n = await db.rows(inbox)
            return n if n >= 10 else None

        await eventually(started, timeout=60, interval=0.02)
        stack.kill(service)  # SIGKILL: no shutdown, offsets of the batch in flight not committed
        at_kill = await db.rows(inbox)
        assert at_kill < len(work.events), "the backlog was done before the kill; make it larger"

        stack.start(service)
        await asyncio.to_thread(stack.wait_ready, [service])

        async def caught_up():
            return await db.rows(inbox) == len(work.events)

        await eventually(caught_up, timeout=90)
        # Once the group has been through every record, a duplicate applied late would show now.
        await eventually(lambda: group_has_consumed_everything(broker.bootstrap, f"baoxue-{service}", [work.topic]),
                         timeout=60)
        async with httpx.AsyncClient(base_url=stack.url(service), headers=bearer(), timeout=10) as api:
            await work.check(api, db, students)
        assert await db.rows(inbox) == len(work.events)
    finally:
        stack.stop()
        await db.close()
