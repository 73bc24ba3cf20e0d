"""The outbox relay: publishes committed outbox rows in id order and marks them sent.

If the broker is down the rows simply wait; the relay keeps retrying with a backoff. A row is
marked sent once the broker acknowledged it; rows are sent in id order, and aiokafka batches a
partition's records together, so a student's events keep their order. Publishing twice is still
possible (a crash between send and mark): consumers drop repeats on (ce_source, ce_id).

The outbox is also the durable log (shared/outbox_log.py): each row keeps the partition and
offset the broker acknowledged; at every connection to the broker, before publishing anything,
and every BAOXUE_OUTBOX_CHECK_INTERVAL_S, the relay reads records back there and publishes again,
in order, what the broker lost. Sent rows are deleted after BAOXUE_OUTBOX_RETENTION_DAYS.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata
from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import metrics, outbox_log
from shared.clock import Clock
from shared.envelope import ce_headers
from shared.kafka import ensure_topics, make_producer, stop_quietly
from shared.messaging import outbox
from shared.settings import ServiceSettings
from shared.sql import dialect_of
from shared.waiting import wait_or_stop

log = structlog.get_logger("baoxue.relay")


class BrokerUnavailable(Exception):
    """The broker could not be reached or did not acknowledge: the producer is started afresh.
    (Not a ConnectionError: a database refusing connections raises those too, and says nothing
    about the broker.)"""


@dataclass(frozen=True)
class Acked:
    """A row the broker acknowledged, and where."""

    id: int
    partition: int
    offset: int


# A check that failed (the broker went away mid-way, a bug) is tried again this soon, not after
# the full interval; publishing goes on meanwhile.
CHECK_RETRY_S = 30.0

_MARK_SENT = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"))
    .values(sent_at=bindparam("b_sent_at"), kafka_partition=bindparam("b_partition"),
            kafka_offset=bindparam("b_offset"))
)


class OutboxRelay:
    def __init__(self, settings: ServiceSettings, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._settings = settings
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        # Monotonic times of the next log check and prune; a new connection makes the check due.
        self._check_due = 0.0
        self._prune_due = 0.0
        self._reader = outbox_log.Reader(settings.kafka_bootstrap, f"baoxue-{settings.service_name}-log-check",
                                         timeout_s=max(30.0, settings.kafka_send_timeout_s))

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
            # A broker met again may be one that lost everything (restarted empty, restored from
            # an old disk): check before publishing anything new on top.
            self._check_due = 0.0
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
            acked = await self._send(producer, rows)
            sent_ids = [a.id for a in acked]
            if acked:
                sent_at = self._clock.now()
                await session.execute(_MARK_SENT, [
                    {"b_id": a.id, "b_sent_at": sent_at, "b_partition": a.partition, "b_offset": a.offset}
                    for a in acked])
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
        published = [r for r in rows if r.id in sent]
        # A label lookup per type, not per row: a burst's batches are hundreds of rows.
        for event_type, n in Counter(row.event_type for row in published).items():
            metrics.OUTBOX_PUBLISHED.labels(self._settings.service_name, event_type).inc(n)
        lag = metrics.OUTBOX_LAG.labels(self._settings.service_name)
        for row in published:
            lag.observe(max(0.0, (now - row.created_at).total_seconds()))
        if len(sent_ids) < len(rows):
            raise BrokerUnavailable("broker did not acknowledge every record")
        return len(sent_ids)

    async def _send(self, producer: AIOKafkaProducer, rows: Sequence[Row[Any]]) -> list[Acked]:
        futures = []
        for row in rows:
            headers = ce_headers(id=row.event_id, source=row.source, type=row.event_type, time=row.event_time,
                                 subject=row.subject, extensions=json.loads(row.extensions) if row.extensions else None)
            key = row.key.encode() if row.key else None
            futures.append(await producer.send(row.topic, value=row.payload, key=key, headers=headers))
        # Marking an acknowledged row unsent because an unrelated one failed would put it on the
        # wire twice; every acknowledged row counts. One wait for the batch (not a task per row:
        # a burst's batches are hundreds of rows); what is not acknowledged in time is given up.
        _, late = await asyncio.wait(futures, timeout=self._settings.kafka_send_timeout_s)
        for fut in late:
            fut.cancel()
        sent: list[Acked] = []
        for row, fut in zip(rows, futures):
            error = (TimeoutError("not acknowledged in time") if fut in late or fut.cancelled()
                     else fut.exception())
            if error is not None:
                log.warning("relay.send_failed", outbox_id=row.id, topic=row.topic, error=repr(error))
            else:
                meta: RecordMetadata = fut.result()
                sent.append(Acked(row.id, meta.partition, meta.offset))
        return sent

    async def check_log(self) -> int:
        """Read acknowledged records back; mark what the broker lost unsent again. Returns how
        many rows were marked (the relay's next passes send them)."""
        checked_from = self._clock.now()
        async with self._sessionmaker() as session:
            losses = await outbox_log.find_losses(session, self._reader)
            await session.rollback()  # SQLite: hold no lock while the broker is read back
            if not losses:
                return 0
            # A lost topic may be a missing one: create it before sending to it again.
            await ensure_topics(self._settings)
            marked = 0
            for loss in losses:
                n = await outbox_log.republish(session, loss, checked_from=checked_from)
                marked += n
                metrics.OUTBOX_REPUBLISHED.labels(self._settings.service_name, loss.tp.topic).inc(n)
                log.warning("relay.records_lost", topic=loss.tp.topic, partition=loss.tp.partition,
                            first_lost_outbox_id=loss.first_lost_id, republishing=n)
            await session.commit()
        self.wake()
        return marked

    async def prune(self) -> int:
        """Delete sent rows past the retention; returns how many."""
        older_than = self._clock.now() - timedelta(days=self._settings.outbox_retention_days)
        pruned = 0
        while True:
            async with self._sessionmaker() as session:
                n = await outbox_log.prune(session, older_than=older_than)
                await session.commit()
            pruned += n
            if n < 10_000:
                return pruned

    async def _maintain(self) -> None:
        """The prune and the log check, when due. A failure is logged and tried again soon; it
        never stops publishing."""
        now = time.monotonic()
        if now >= self._prune_due:
            try:
                pruned = await self.prune()
                self._prune_due = time.monotonic() + self._settings.outbox_prune_interval_s
                if pruned:
                    log.info("relay.pruned", rows=pruned, retention_days=self._settings.outbox_retention_days)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._prune_due = time.monotonic() + min(CHECK_RETRY_S, self._settings.outbox_prune_interval_s)
                log.warning("relay.prune_failed", error=repr(exc))
        await self._ensure_producer()
        if now >= self._check_due:
            try:
                marked = await self.check_log()
                self._check_due = time.monotonic() + self._settings.outbox_check_interval_s
                log.info("relay.log_checked", republishing=marked)
            except asyncio.CancelledError:
                raise
            except outbox_log.BrokerChanging:
                # Expected, not a failure: the broker's records moved between two reads (another
                # replica republishing, or the broker restarting). The check is taken again soon.
                self._check_due = time.monotonic() + min(CHECK_RETRY_S, self._settings.outbox_check_interval_s)
                log.info("relay.log_check_deferred", reason="broker records changed while read")
            except Exception as exc:
                self._check_due = time.monotonic() + min(CHECK_RETRY_S, self._settings.outbox_check_interval_s)
                log.warning("relay.log_check_failed", error=repr(exc))

    async def run(self, stop: asyncio.Event) -> None:
        backoff = self._settings.outbox_poll_interval_s
        while not stop.is_set():
            try:
                await self._maintain()
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
            await wait_or_stop(stop, backoff, wake=self._wake)

    async def close(self) -> None:
        if self._producer is not None:
            await _quietly_stop(self._producer)
            self._producer = None


async def _quietly_stop(producer: AIOKafkaProducer) -> None:
    await stop_quietly(producer, 5)
