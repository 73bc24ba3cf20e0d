"""Idempotent event consumers: inbox mark and effect in one transaction, offsets after.

A record that is not a readable CloudEvent, whose type the contract does not know, or whose
data does not fit its event model (shared/events/; the reason names the field) is a poison
message: it is set aside at once as a dead letter with the reason (table and topic, see
shared/deadletters.py) and the consumer moves on. A handler that fails because the database is
unreachable is retried until it is back (the offset is not committed meanwhile); any other
handler failure is retried a few times and then dead-lettered, so one bad event cannot stop a
county's stream.
"""

from __future__ import annotations

import asyncio
from typing import Mapping

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from sqlalchemy.exc import DBAPIError, OperationalError

from shared import metrics
from shared.db import is_connection_problem
from shared.deadletters import KNOWN_TYPES, set_aside
from shared.envelope import MalformedEvent, from_record
from shared.events import EventModel
from shared.kafka import ensure_topics, make_consumer, stop_quietly
from shared.routes import Handler, InvalidPayload, Routes
from shared.settings import ServiceSettings
from shared.uow import UnitsOfWork
from shared.waiting import wait_or_stop

log = structlog.get_logger("baoxue.consumer")

__all__ = ["EventConsumer"]

HANDLER_ATTEMPTS = 3


class EventConsumer:
    def __init__(
        self,
        settings: ServiceSettings,
        units: UnitsOfWork,
        *,
        handlers: Mapping[type[EventModel], Handler],
    ) -> None:
        self._settings = settings
        # Each event is handled in a unit of work of the service's, as a request is (its source,
        # clock, commit hooks and relay wake-up).
        self._uow = units
        self.routes = Routes(handlers)
        # The subscription is the topics of the models handled.
        self._topics = self.routes.topics
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def connected(self) -> bool:
        return self._consumer is not None

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                if self._consumer is None:
                    consumer = make_consumer(self._settings, self._topics)
                    try:
                        await ensure_topics(self._settings)
                        await asyncio.wait_for(consumer.start(), 15)
                    except BaseException:
                        await _quietly_stop(consumer)
                        raise
                    self._consumer = consumer
                    log.info("consumer.started", topics=self._topics, group=self._settings.consumer_group)
                # An empty result may only mean the assignment changed (aiokafka#117); just poll again.
                batches = await self._consumer.getmany(timeout_ms=500, max_records=100)
                for tp, records in batches.items():
                    for record in records:
                        await self._process(record, stop)
                    await self._commit(tp, records[-1].offset + 1)
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, asyncio.TimeoutError) as exc:
                log.warning("consumer.broker_unavailable", error=repr(exc), retry_in_s=backoff)
                if self._consumer is not None:
                    await _quietly_stop(self._consumer)
                    self._consumer = None
                await wait_or_stop(stop, backoff)
                backoff = min(backoff * 2, 10.0)

    async def apply(self, record: ConsumerRecord, stop: asyncio.Event) -> None:
        """Handle one record exactly as the consume loop does (inbox, retries, dead letters), for
        tools that read the topics themselves, such as a read model's rebuild by replay."""
        await self._process(record, stop)

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset})
        except CommitFailedError as exc:
            # The group rebalanced; the batch will be redelivered and the inbox drops repeats.
            log.warning("consumer.commit_failed", partition=tp.partition, error=repr(exc))

    async def _process(self, record: ConsumerRecord, stop: asyncio.Event) -> None:
        service = self._settings.service_name
        try:
            event = from_record(record.value, record.headers)
        except MalformedEvent as exc:
            await self._dead_letter(record, f"malformed: {exc}")
            return
        if not self.routes.handles(event.type):
            if event.type not in KNOWN_TYPES:
                await self._dead_letter(record, f"unknown event type {event.type!r}")
            return  # topics carry many types; each service handles the ones it needs
        try:
            apply = self.routes.prepare(event)
        except InvalidPayload as exc:  # no retry can fix the data: set it aside on first delivery
            await self._dead_letter(record, str(exc))
            return
        attempt, backoff = 0, 0.5
        while True:
            attempt += 1
            try:
                async with self._uow() as uow:
                    if await uow.claim(event):
                        await apply(uow)
                        await uow.commit()
                        metrics.EVENTS_CONSUMED.labels(service, event.type, "applied").inc()
                    else:
                        metrics.EVENTS_CONSUMED.labels(service, event.type, "duplicate").inc()
                return
            except asyncio.CancelledError:
                raise
            except (OperationalError, DBAPIError, OSError) as exc:
                if is_connection_problem(exc):
                    log.warning("consumer.database_unavailable", event_type=event.type, error=exc)
                    if stop.is_set():
                        raise asyncio.CancelledError from exc
                    await wait_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 10.0)
                    attempt -= 1
                    continue
                failure: Exception = exc
            except Exception as exc:  # noqa: BLE001 - a handler bug must not stop the stream
                failure = exc
            log.error("consumer.handler_failed", event_type=event.type, event_id=event.id, attempt=attempt, error=failure)
            if attempt >= HANDLER_ATTEMPTS:
                await self._dead_letter(record, f"handler failed {attempt} times: {_describe(failure)}")
                return
            await wait_or_stop(stop, backoff)

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        """Set the record aside, retrying while the database is away: skipping it unrecorded
        would lose it, since the offset is committed after."""
        service = self._settings.service_name
        log.error("consumer.dead_letter", topic=record.topic, partition=record.partition, offset=record.offset, reason=reason)
        backoff = 0.5
        while True:
            try:
                async with self._uow() as uow:
                    if await set_aside(uow, service, record, reason):
                        await uow.commit()
                        metrics.DEAD_LETTERS.labels(service, record.topic).inc()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - most likely the database is away; keep the record
                log.warning("consumer.dead_letter_failed", error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def close(self) -> None:
        if self._consumer is not None:
            await _quietly_stop(self._consumer)
            self._consumer = None


def _describe(exc: BaseException) -> str:
    """The error's class and first line: a database error's later lines carry the statement's
    parameters (children's data), and the reason is shown to operators and published."""
    first = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


async def _quietly_stop(consumer: AIOKafkaConsumer) -> None:
    await stop_quietly(consumer, 10)
