"""Two replicas of each consuming service in one consumer group, six partitions a topic: each
replica is given partitions, a backlog has its effects exactly once, and a replica SIGKILLed in
the middle of it loses nothing (the survivor takes its partitions over).

Attendance (students enrolled, from the registry topic) and cases (the same enrolments, and an
absence threshold per student from the attendance topic, each opening one case announced on the
cases topic and issuing its two dual reports at the verification deadline) run; reporting and
registry consume through the same EventConsumer and are not started here, to keep the test short.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter as Tally

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.envelope import TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_REGISTRY
from shared.kafka import CONTRACT_TOPICS
from shared.messaging import inbox, outbox
from tests.factories import Counter, enrolled, outbox_drained, stack_for, threshold
from tests.kafka_helpers import eventually, group_has_consumed_everything, publish_many, read_all

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

PARTITIONS = 6
SERVICES = ("attendance", "cases")
TOPICS = {"attendance": [TOPIC_REGISTRY], "cases": [TOPIC_ATTENDANCE, TOPIC_REGISTRY]}


async def create_topics(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=PARTITIONS, replication_factor=1)
                                   for t in CONTRACT_TOPICS])
    finally:
        await admin.close()


def assigned(stack, name: str) -> set[TopicPartition] | None:
    """The partitions the group last gave that process, from its log (`consumer.assigned`;
    Tansu's DescribeGroups names the members but not their assignments), or None before any."""
    last = None
    for line in (stack.var_dir / "log" / f"{name}.log").read_text(errors="replace").splitlines():
        if line.startswith("{") and (entry := json.loads(line)).get("msg") == "consumer.assigned":
            last = {TopicPartition(tp.rpartition("/")[0], int(tp.rpartition("/")[2])) for tp in entry["partitions"]}
    return last


def every_partition(service: str) -> set[TopicPartition]:
    return {TopicPartition(t, p) for t in TOPICS[service] for p in range(PARTITIONS)}


def split_between(members: list[set[TopicPartition] | None], service: str):
    """The processes' partitions when each has some and together they have all of them once."""
    if not all(members):
        return None
    together = [tp for m in members for tp in m]
    return members if len(together) == len(set(together)) and set(together) == every_partition(service) else None


async def test_two_replicas_share_the_partitions_and_a_killed_one_loses_nothing(fault_databases, broker, tmp_path):
    stack = stack_for(SERVICES, fault_databases, broker, tmp_path, BAOXUE_KAFKA_TOPIC_PARTITIONS=str(PARTITIONS))
    students = [str(uuid.uuid4()) for _ in range(300)]
    await create_topics(broker.bootstrap)
    for service in SERVICES:
        await asyncio.to_thread(stack.migrate, service)
    dbs = {service: Counter(stack.database_url(service)) for service in SERVICES}
    try:
        for service in SERVICES:
            stack.start(service)
        others = {service: stack.start_replica(service) for service in SERVICES}
        await asyncio.to_thread(stack.wait_ready, [*SERVICES, *others.values()])
        # Each replica is given partitions of every topic its service reads (3 of the 6 here).
        for service in SERVICES:
            await eventually(lambda: _split(stack, [service, others[service]], service), timeout=60)

        # A backlog: the enrolments (attendance's and cases') and the thresholds (cases').
        await publish_many(broker.bootstrap, TOPIC_REGISTRY, [enrolled(s) for s in students])
        await publish_many(broker.bootstrap, TOPIC_ATTENDANCE,
                           [threshold(s, "2026-11-14T00:00:00+00:00") for s in students])
        expected = {"attendance": len(students), "cases": 2 * len(students)}

        # SIGKILL the second replica of each service once its service is under way, not done.
        for service in SERVICES:
            async def started(db=dbs[service]) -> bool:
                return await db.rows(inbox) >= 20

            await eventually(started, timeout=60, interval=0.02)
            stack.kill(others[service])
            assert await dbs[service].rows(inbox) < expected[service], "the backlog was done before the kill"

        # The survivor takes every partition over, and applies what the killed one had not.
        for service in SERVICES:
            await eventually(lambda: _split(stack, [service], service), timeout=60)
            await eventually(lambda: group_has_consumed_everything(broker.bootstrap, f"baoxue-{service}",
                                                                   TOPICS[service]), timeout=90)

        # Exactly once: one inbox row and one effect per input event.
        from attendance.adapters.tables import roster
        from cases.adapters.tables import cases

        assert await dbs["attendance"].rows(inbox) == len(students)
        assert await dbs["attendance"].rows(roster) == len(students)
        assert await dbs["cases"].rows(inbox) == 2 * len(students)
        assert Tally(await _column(dbs["cases"], cases.c.child_id)) == Tally(students)
        opened = outbox.c.event_type == "baoxue.cases.case.opened"
        assert await dbs["cases"].rows(outbox, opened) == len(students)
        # The jobs of both replicas claim in the database: two reports per case, none twice.
        issued = outbox.c.event_type == "baoxue.cases.dual_report.issued"
        await eventually(lambda: _at_least(dbs["cases"].rows(outbox, issued), 2 * len(students)), timeout=60)
        await outbox_drained(stack.database_url("cases"), timeout=60)
        assert await dbs["cases"].rows(outbox, issued) == 2 * len(students)

        # On the output topic, read to the high watermark: one case.opened per student. The relay
        # publishes at least once (Tansu has no idempotent producer), so a record sent again by the
        # survivor after the kill carries the same ce_id, which consumers drop as a repeat.
        announced = [e for e in await read_all(broker.bootstrap, TOPIC_CASES) if e.type == "baoxue.cases.case.opened"]
        first = {e.id: e.subject for e in announced}
        assert Tally(first.values()) == Tally(students)
    finally:
        stack.stop()
        for db in dbs.values():
            await db.close()


async def _split(stack, names: list[str], service: str):
    return split_between([assigned(stack, name) for name in names], service)


async def _column(db: Counter, column) -> list:
    from sqlalchemy import select

    async with db.engine.connect() as conn:
        return list((await conn.execute(select(column))).scalars())


async def _at_least(count, n: int) -> bool:
    return await count >= n
