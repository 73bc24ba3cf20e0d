"""The outbox relay: publishes committed outbox rows in id order and marks them sent.

If the broker is down the rows simply wait; the relay keeps retrying with a backoff. A row is
marked sent once the broker acknowledged it; rows are sent in id order, and aiokafka batches a
partition's records together, so a student's events keep their order. Publishing twice is still
possible (a crash between send and mark): consumers drop repeats on (ce_source, ce_id).
"""

from __future__ import annotations

import asyncio
import json

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import metrics
from shared.clock import Clock
from shared.envelope import CONTENT_TYPE, SPECVERSION, extension_headers
from shared.kafka import ensure_topics, make_producer
from shared.messaging import outbox
from shared.settings import ServiceSettings
from shared.sql import dialect_of

log = structlog.get_logger("baoxue.relay")


class BrokerUnavailable(Exception):
    """The broker could not be reached or did not acknowledge: the producer is started afresh.
    (Not a ConnectionError: a database refusing connections raises those too, and says nothing
    about the broker.)"""


class OutboxRelay:
    def __init__(self, settings: ServiceSettings, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Publish now rather than at the next poll (called after a commit that emitted)."""
        self._wake.set()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self._settings)
            try:
                await asyncio.wait_for(producer.start(), self._settings.kafka_send_timeout_s)
                await ensure_topics(self._settings)
            except asyncio.CancelledError:
                await _quietly_stop(producer)
                raise
            except Exception as exc:
                # A producer whose start() failed must not be used (aiokafka#759).
                await _quietly_stop(producer)
                raise BrokerUnavailable(repr(exc)) from exc
            self._producer = producer
            log.info("relay.connected", bootstrap=self._settings.kafka_bootstrap)
        return self._producer

    async def broker_ready(self) -> bool:
        producer = self._producer
        if producer is None:
            return False
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), 2)
            return True
        except Exception:
            return False

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; return how many were marked sent."""
        producer = await self._ensure_producer()
        async with self._sessionmaker() as session:
            stmt = (
                select(outbox)
                .where(outbox.c.sent_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self._settings.outbox_batch_size)
            )
            claim = dialect_of(session) == "postgresql"
            if claim:
                # Two replicas' relays never publish the same rows at once.
                stmt = stmt.with_for_update(skip_locked=True)
            rows = (await session.execute(stmt)).all()
            if not claim:
                # SQLite has one writer: never hold its lock while waiting on the broker.
                await session.rollback()
            if not rows:
                return 0
            sent_ids = await self._send(producer, rows)
            if sent_ids:
                await session.execute(
                    update(outbox).where(outbox.c.id.in_(sent_ids)).values(sent_at=self._clock.now())
                )
            failed = [row.id for row in rows if row.id not in set(sent_ids)]
            if failed:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(failed))
                    .values(attempts=outbox.c.attempts + 1, last_error="broker did not acknowledge in time")
                )
            await session.commit()
        now = self._clock.now()
        sent = set(sent_ids)
        for row in (r for r in rows if r.id in sent):
            metrics.OUTBOX_PUBLISHED.labels(self._settings.service_name, row.event_type).inc()
            metrics.OUTBOX_LAG.labels(self._settings.service_name).observe(
                max(0.0, (now - row.created_at).total_seconds())
            )
        if len(sent_ids) < len(rows):
            raise BrokerUnavailable("broker did not acknowledge every record")
        return len(sent_ids)

    async def _send(self, producer: AIOKafkaProducer, rows) -> list[int]:
        futures = []
        for row in rows:
            headers = [
                ("ce_specversion", SPECVERSION.encode()),
                ("ce_id", row.event_id.encode()),
                ("ce_source", row.source.encode()),
                ("ce_type", row.event_type.encode()),
                ("ce_time", row.event_time.isoformat().encode()),
                ("ce_subject", row.subject.encode()),
                ("content-type", CONTENT_TYPE.encode()),
                *extension_headers(json.loads(row.extensions) if row.extensions else None),
            ]
            key = row.key.encode() if row.key else None
            futures.append(await producer.send(row.topic, value=row.payload, key=key, headers=headers))
        # Marking an acknowledged row unsent because an unrelated one failed would put it on the
        # wire twice; every acknowledged row counts.
        results = await asyncio.gather(
            *(asyncio.wait_for(fut, self._settings.kafka_send_timeout_s) for fut in futures), return_exceptions=True
        )
        sent: list[int] = []
        for row, result in zip(rows, results):
            if isinstance(result, BaseException):
                log.warning("relay.send_failed", outbox_id=row.id, topic=row.topic, error=repr(result))
            else:
                sent.append(row.id)
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        backoff = self._settings.outbox_poll_interval_s
        while not stop.is_set():
            try:
                published = await self.publish_pending()
                backoff = self._settings.outbox_poll_interval_s
                if published:
                    continue  # there may be more
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                metrics.OUTBOX_FAILURES.labels(self._settings.service_name).inc()
                log.warning("relay.unavailable", error=repr(exc), retry_in_s=round(backoff, 2))
                # A database error says nothing about the broker: keep a working producer (and
                # /readyz's broker check true) while the database restarts.
                if self._producer is not None and isinstance(exc, (BrokerUnavailable, KafkaError)):
                    await _quietly_stop(self._producer)
                    self._producer = None
                backoff = min(backoff * 2, 10.0)
            await _sleep_or_wake(self._wake, backoff, stop)

    async def close(self) -> None:
        if self._producer is not None:
            await _quietly_stop(self._producer)
            self._producer = None


async def _sleep_or_wake(wake: asyncio.Event, seconds: float, stop: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(wake.wait(), seconds)
    except asyncio.TimeoutError:
        pass
    wake.clear()


async def _quietly_stop(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), 5)
    except BaseException as exc:  # noqa: BLE001 - stopping a broken client must not raise
        if isinstance(exc, asyncio.CancelledError):
            raise
        log.debug("relay.stop_failed", error=repr(exc))
