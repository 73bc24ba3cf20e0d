"""The outbox is the durable log: the relay records where the broker acknowledged each row, finds
out when the broker lost records, publishes them again in order, and prunes after the retention.

The broker is the real embedded one; "losing records" is restarting it (memory storage), and a
partition that kept only its first records is one rebuilt by hand with those records at their
offsets, as an unclean leader election leaves it."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select, update

from devtools.stack import Broker, free_port
from shared.envelope import TOPIC_REGISTRY
from shared.kafka import ensure_topics
from shared.messaging import outbox
from shared.outbox_log import BrokerChanging
from shared.topic_reader import collect, header
from tests.conftest import running
from tests.factories import school_with_class, student_body
from tests.kafka_helpers import eventually

# Checked once, at the connection, then only when the test says.
ONE_CHECK = {"outbox_check_interval_s": 3600, "kafka_topic_partitions": 1}


async def sent_rows(client) -> list:
    async with client.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(outbox).order_by(outbox.c.id))).all()


async def all_sent(client, n: int) -> list:
    async def check():
        rows = await sent_rows(client)
        return rows if len(rows) >= n and all(r.kafka_offset is not None for r in rows) else None

    return await eventually(check, timeout=60)


async def enrol(registry, n: int) -> None:
    klass = await school_with_class(registry)
    for _ in range(n):
        assert (await registry.post("/v1/students", json=student_body(klass))).status_code == 201


def restart_empty(broker: Broker) -> None:
    broker.kill()  # a crash: the embedded broker keeps nothing but memory
    broker.start()


async def test_each_row_records_the_partition_and_offset_the_broker_acknowledged(databases, broker):
    async with running("registry", databases.url("registry"), broker.bootstrap,
                       outbox_check_interval_s=3600) as registry:
        await enrol(registry, 4)
        rows = await all_sent(registry, 5 + 4)  # five orgs, four students
    on_topic = {(r.partition, r.offset): header(r, "ce_id") for r in await collect(broker.bootstrap, [TOPIC_REGISTRY])}
    assert {(r.kafka_partition, r.kafka_offset): r.event_id for r in rows} == on_topic


async def test_a_broker_restarted_empty_gets_every_row_again_in_order_and_once(databases, broker):
    async with running("registry", databases.url("registry"), broker.bootstrap, outbox_check_interval_s=1.0) as registry:
        await enrol(registry, 6)
        before = await all_sent(registry, 11)
        restart_empty(broker)  # found by the periodic check: the relay's connection never failed
        records = await eventually(lambda: holds(broker, len(before)), timeout=60)
        after = await all_sent(registry, len(before))
    assert sorted(header(r, "ce_id") for r in records) == sorted(row.event_id for row in before)  # once each
    # In outbox order within each partition, so each student's events keep theirs.
    for partition in {r.partition for r in records}:
        assert [header(r, "ce_id") for r in records if r.partition == partition] == \
            [row.event_id for row in after if row.kafka_partition == partition]
    assert {(r.kafka_partition, r.kafka_offset) for r in after} == {(r.partition, r.offset) for r in records}


async def test_a_partition_that_kept_its_first_records_gets_the_rest_again(databases, broker):
    async with running("registry", databases.url("registry"), broker.bootstrap, **ONE_CHECK) as registry:
        relay = registry.app.state.runtime.relay
        await enrol(registry, 5)
        before = await all_sent(registry, 10)
        kept = 6
        restart_empty(broker)
        await ensure_topics(registry.app.state.runtime.settings)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            for row in before[:kept]:
                await producer.send_and_wait(TOPIC_REGISTRY, row.payload, key=row.key.encode(), partition=0,
                                             headers=[("ce_id", row.event_id.encode())])
        finally:
            await producer.stop()
        assert await relay.check_log() == len(before) - kept  # from the first lost row on, not the rows held
        records = await eventually(lambda: holds(broker, len(before)), timeout=30)
        await all_sent(registry, len(before))
        assert await relay.check_log() == 0
    # Each once: the rows the partition held were not sent again. (Where the others went depends
    # on how many partitions the topic got when the broker came back: a client's metadata
    # request may create it with the broker's default.)
    assert Counter(header(r, "ce_id") for r in records) == Counter(row.event_id for row in before)
    assert [header(r, "ce_id") for r in records if r.partition == 0][:kept] == [row.event_id for row in before[:kept]]


async def test_two_replicas_checking_at_once_publish_the_lost_history_once(backend, databases, broker):
    if backend != "postgresql":
        pytest.skip("replicas share a PostgreSQL database: SQLite relays take no claims on rows")
    url = databases.url("registry")
    async with running("registry", url, broker.bootstrap, **ONE_CHECK) as one:
        await enrol(one, 4)
        before = await all_sent(one, 9)
        async with running("registry", url, broker.bootstrap, migrated=True, **ONE_CHECK) as two:
            relays = [one.app.state.runtime.relay, two.app.state.runtime.relay]
            restart_empty(broker)
            marked = await asyncio.gather(*(check(relay) for relay in relays))
            assert sum(marked) == len(before), marked  # each row marked by one replica only
            await eventually(lambda: holds(broker, len(before)), timeout=60)
            await all_sent(one, len(before))
            assert await asyncio.gather(*(relay.check_log() for relay in relays)) == [0, 0]
    copies = Counter(header(r, "ce_id") for r in await collect(broker.bootstrap, [TOPIC_REGISTRY]))
    assert copies == Counter(row.event_id for row in before)


async def check(relay) -> int:
    """One replica's log check, as its maintenance loop sees it: when the other replica's
    republishing lands between this one's two reads of the broker, this one marks nothing and
    checks again at its next pass (``BrokerChanging``), which is the outcome wanted here."""
    try:
        return await relay.check_log()
    except BrokerChanging:
        return 0


async def holds(broker: Broker, n: int):
    records = await collect(broker.bootstrap, [TOPIC_REGISTRY])
    return records if len(records) >= n else None


async def test_sent_rows_past_the_retention_are_pruned_and_unsent_ones_kept(databases):
    port = free_port()  # no broker: nothing is sent, so the test decides which rows are
    async with running("registry", databases.url("registry"), f"127.0.0.1:{port}",
                       outbox_retention_days=30) as registry:
        await enrol(registry, 2)
        rows = await sent_rows(registry)
        assert len(rows) == 7
        old = datetime.now(UTC) - timedelta(days=31)
        async with registry.app.state.runtime.sessionmaker() as s:
            # Two old rows, one sent long ago and one that never reached the broker; one recent sent row.
            await s.execute(update(outbox).where(outbox.c.id.in_([rows[0].id, rows[1].id])).values(created_at=old))
            await s.execute(update(outbox).where(outbox.c.id.in_([rows[0].id, rows[2].id])).values(sent_at=old))
            await s.commit()
        assert await registry.app.state.runtime.relay.prune() == 1
        left = {r.id for r in await sent_rows(registry)}
    assert left == {r.id for r in rows} - {rows[0].id}
