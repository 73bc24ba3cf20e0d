"""Rebuild the read model by replaying the topics: ``python -m reporting rebuild``.

Empties every projection table and the inbox, then reads the four topics from the beginning up
to the high watermark each partition had when the replay started (shared/topic_reader.py: never
the ListOffsets end, which the embedded broker reports too low), applying each record exactly as
the service's consumer does. Run it with the service stopped: the service's own group then
resumes from its committed offsets, and anything the replay already applied is a repeat the
inbox drops.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from aiokafka.structs import ConsumerRecord
from sqlalchemy import delete

from reporting.adapters.tables import PROJECTIONS
from reporting.settings import ReportingSettings
from reporting.usecases.projections import HANDLERS, TOPICS
from shared.clock import SystemClock
from shared.consumer import EventConsumer
from shared.db import make_engine, make_sessionmaker
from shared.kafka import ensure_topics
from shared.messaging import inbox
from shared.service import units_of_work
from shared.topic_reader import read_to_end

log = structlog.get_logger("baoxue.reporting.rebuild")


async def rebuild(settings: ReportingSettings, *, timeout_s: float = 600) -> dict[str, float | int]:
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    started = time.monotonic()
    applied = 0
    try:
        async with sessionmaker() as session:
            for table in (*PROJECTIONS, inbox):
                await session.execute(delete(table))
            await session.commit()
        applier = EventConsumer(settings, units_of_work(settings, sessionmaker, SystemClock()),
                                handlers=HANDLERS)
        stop = asyncio.Event()

        async def apply(record: ConsumerRecord) -> None:
            nonlocal applied
            await applier.apply(record, stop)
            applied += 1

        await ensure_topics(settings)
        await read_to_end(settings.kafka_bootstrap, TOPICS, apply,
                          client_id=f"baoxue-{settings.service_name}-rebuild", timeout_s=timeout_s)
    finally:
        await engine.dispose()
    seconds = round(time.monotonic() - started, 3)
    log.info("rebuild.done", records=applied, seconds=seconds)
    return {"records": applied, "seconds": seconds}


def main(settings: ReportingSettings) -> None:
    result = asyncio.run(rebuild(settings))
    print(f"rebuilt the read model from {result['records']} records in {result['seconds']} s")
