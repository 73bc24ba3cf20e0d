"""Rebuild the read model by replaying the topics: ``python -m reporting rebuild``.

Empties every projection table and the inbox, then reads the four topics from the beginning
with a fresh consumer group (assigned every partition, so no group rebalance to wait for) until
each partition reaches the end offset it had when the replay started, applying each record
exactly as the service's consumer does. Run it with the service stopped: the service's own group
then resumes from its committed offsets, and anything the replay already applied is a repeat
the inbox drops.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import delete

from shared.clock import SystemClock
from shared.consumer import EventConsumer
from shared.db import make_engine, make_sessionmaker
from shared.envelope import TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_REGISTRY, TOPIC_REPORTS
from shared.kafka import ensure_topics
from shared.messaging import inbox

from reporting.adapters.tables import PROJECTIONS
from reporting.handlers import HANDLERS
from reporting.settings import ReportingSettings

log = structlog.get_logger("baoxue.reporting.rebuild")
TOPICS = [TOPIC_REGISTRY, TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_REPORTS]


async def rebuild(settings: ReportingSettings, *, timeout_s: float = 600) -> dict[str, float | int]:
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    started = time.monotonic()
    try:
        async with sessionmaker() as session:
            for table in (*PROJECTIONS, inbox):
                await session.execute(delete(table))
            await session.commit()
        group = f"{settings.consumer_group}-rebuild-{uuid.uuid4().hex[:8]}"
        applier = EventConsumer(settings, sessionmaker, SystemClock(), topics=TOPICS, handlers=HANDLERS)
        await ensure_topics(settings)
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group,
                                    client_id=f"baoxue-{settings.service_name}-rebuild", enable_auto_commit=False,
                                    auto_offset_reset="earliest", metadata_max_age_ms=5_000)
        await consumer.start()
        try:
            applied = await _replay(consumer, applier, time.monotonic() + timeout_s)
        finally:
            await consumer.stop()
    finally:
        await engine.dispose()
    seconds = round(time.monotonic() - started, 3)
    log.info("rebuild.done", records=applied, seconds=seconds)
    return {"records": applied, "seconds": seconds}


async def _replay(consumer: AIOKafkaConsumer, applier: EventConsumer, deadline: float) -> int:
    await consumer.topics()  # fetches the cluster metadata, so the partitions are known
    partitions = [TopicPartition(t, p) for t in TOPICS for p in sorted(consumer.partitions_for_topic(t) or ())]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    end = await consumer.end_offsets(partitions)
    stop = asyncio.Event()
    applied = 0
    # Caught up only when every partition's position reached its end offset: an empty poll is
    # not proof of it (aiokafka#117).
    while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the replay had not caught up with {end} in time")
        for records in (await consumer.getmany(timeout_ms=500, max_records=500)).values():
            for record in records:
                await applier.apply(record, stop)
                applied += 1
    return applied


def main(settings: ReportingSettings) -> None:
    result = asyncio.run(rebuild(settings))
    print(f"rebuilt the read model from {result['records']} records in {result['seconds']} s")
