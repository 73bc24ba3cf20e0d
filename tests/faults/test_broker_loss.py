"""The broker loses its history and the system does not.

* The embedded broker (memory storage) is restarted empty after the registry published a county:
  the registry's relay finds out by reading acknowledged records back, publishes its outbox again
  in order, and a rebuild of reporting from the new broker gives the figures it gave before.
* Records produced in multi-record batches (a relay's linger makes them): the rebuild reads to the
  high watermark, not to the ListOffsets end the embedded broker reports too low, and misses
  nothing."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import func, select

from reporting.usecases.rebuild import TOPICS, rebuild
from shared.envelope import TOPIC_REGISTRY
from shared.messaging import outbox
from tests.conftest import TEST_JWT_SECRET, running, settings_for
from tests.factories import caught_up, inbox_rows, ok, reporting_snapshot, school_with_class, student_body
from tests.kafka_helpers import eventually, read_all
from tests.reporting_fixture import COUNTY, events

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]
SCHOOL, TOWNSHIP = "4101221001", "410122100"
STUDENTS = 24


async def county_figures(reporting) -> dict:
    out = {}
    for org in (COUNTY, TOWNSHIP, SCHOOL):
        out[f"summary {org}"] = ok(await reporting.get("/v1/reports/summary", params={"org_code": org}))
    out["dropouts"] = ok(await reporting.get("/v1/ledgers/dropouts", params={"org_code": COUNTY}))
    out["rankings"] = ok(await reporting.get("/v1/reports/rankings", params={"org_code": COUNTY, "by": "dropout_rate"}))
    return out


async def outbox_rows(registry) -> int:
    async with registry.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(outbox))).scalar_one()


async def run_rebuild(url: str, bootstrap: str) -> int:
    settings = settings_for("reporting", database_url=url, kafka_bootstrap=bootstrap, environment="test",
                            jwt_secret=TEST_JWT_SECRET)
    return int((await rebuild(settings, timeout_s=120))["records"])


async def test_a_broker_restarted_empty_is_filled_again_and_the_rebuild_gives_the_same_figures(fault_databases,
                                                                                                  broker):
    reg_url, rep_url = fault_databases.url("registry"), fault_databases.url("reporting")
    async with running("registry", reg_url, broker.bootstrap, outbox_check_interval_s=1.0) as registry:
        klass = await school_with_class(registry)
        ids = [ok(await registry.post("/v1/students", json=student_body(klass)), 201)["id"] for _ in range(STUDENTS)]
        for sid, status in [(ids[0], "dropped_out"), (ids[1], "dropped_out"), (ids[2], "suspended")]:
            ok(await registry.post(f"/v1/students/{sid}/status-changes",
                                   json={"status": status, "reason": "family moved"}), 201)
        published = await outbox_rows(registry)

        async with running("reporting", rep_url, broker.bootstrap) as reporting:
            await caught_up(reporting, published)
            before = await county_figures(reporting)
        assert before[f"summary {SCHOOL}"]["dropped_out"] == 2  # the figures are the county's

        broker.kill()  # a crash: the embedded broker keeps nothing but memory
        broker.start()
        assert await read_all(broker.bootstrap, TOPIC_REGISTRY) == []

        async def republished():
            return len(await read_all(broker.bootstrap, TOPIC_REGISTRY)) >= published

        await eventually(republished, timeout=60)

    assert await run_rebuild(rep_url, broker.bootstrap) == published
    async with running("reporting", rep_url, broker.bootstrap, migrated=True) as reporting:
        assert await inbox_rows(reporting) == published
        after = await county_figures(reporting)
    assert after == before


async def publish_in_batches(bootstrap: str, evs) -> None:
    """Every event sent before any acknowledgement is awaited, with a linger: batches of many."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=50)
    await producer.start()
    try:
        sent = [await producer.send(topic, e.value(), key=e.subject.encode(), headers=e.headers()) for topic, e in evs]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def listoffsets_ends(bootstrap: str) -> int:
    """The sum of the partitions' ends as ListOffsets gives them (what the old rebuild stopped at)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(t, p) for t in TOPICS for p in consumer.partitions_for_topic(t) or ()]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


async def test_a_rebuild_after_multi_record_batches_misses_nothing(fault_databases, broker):
    evs = events()
    await publish_in_batches(broker.bootstrap, evs)
    # The scenario is the one that bit: ListOffsets counts a batch as one record.
    assert await listoffsets_ends(broker.bootstrap) < len(evs)
    url = fault_databases.url("reporting")
    async with running("reporting", url, broker.bootstrap) as reporting:
        await caught_up(reporting, len(evs))
        first = await reporting_snapshot(reporting)
    assert await run_rebuild(url, broker.bootstrap) == len(evs)
    async with running("reporting", url, broker.bootstrap, migrated=True) as reporting:
        assert await inbox_rows(reporting) == len(evs)
        again = await reporting_snapshot(reporting)
    assert again == first
