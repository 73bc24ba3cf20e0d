"""Idempotent event consumers: inbox marks and effects in one transaction, offsets after.

Each batch a fetch returns for a partition is applied in one transaction: every record's inbox
mark and effects, committed together, and the partition's offset is committed only after that.
A repeat within the batch (the same ``ce_source`` and ``ce_id``) is applied once. A handler
registered as ``Batched`` (shared/routes.py) gets each run of consecutive records of its type in
one call, to apply them set-based; the others get one record at a time, in the batch's order. If the batch
fails, it is rolled back and split in two, each half applied on its own, down to one record at a
time, where the rules below apply: the others are applied once and only the bad one is set aside.
(A handler's own ``uow.commit()`` waits for the batch's; its ``uow.rollback()`` fails the batch,
so it is split, rather than undoing the other records' work.)

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
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from sqlalchemy.exc import DBAPIError, OperationalError

from shared import metrics
from shared.db import is_connection_problem
from shared.deadletters import KNOWN_TYPES, set_aside
from shared.envelope import Event, MalformedEvent, from_record
from shared.events import EventModel
from shared.kafka import ensure_topics, make_consumer, stop_quietly
from shared.messaging import inbox
from shared.routes import InvalidPayload, Received, Registered, Routes
from shared.settings import ServiceSettings
from shared.sql import insert_ignoring_conflicts
from shared.uow import UnitOfWork, UnitsOfWork
from shared.waiting import wait_or_stop

log = structlog.get_logger("baoxue.consumer")

__all__ = ["EventConsumer"]

HANDLER_ATTEMPTS = 3
# Records per partition a fetch hands over, and so at most in one transaction.
BATCH_RECORDS = 500


@dataclass(frozen=True)
class _Ready:
    """A record read, understood and validated: what remains is to apply it."""

    record: ConsumerRecord
    event: Event
    received: Received[Any]
    apply: Callable[[UnitOfWork], Awaitable[None]]


class _BatchFailed(Exception):
    """A handler rolled the shared transaction back: the batch is split, so that only its own
    record is tried alone."""


class _BatchUnitOfWork(UnitOfWork):
    """The unit of work a batch's handlers share (see the module's doc)."""

    _closing = False

    async def commit(self) -> None:
        if self._closing:
            await super().commit()

    async def rollback(self) -> None:
        raise _BatchFailed("a handler rolled back its transaction")

    async def close_batch(self) -> None:
        self._closing = True
        await super().commit()


class EventConsumer:
    def __init__(
        self,
        settings: ServiceSettings,
        units: UnitsOfWork,
        *,
        handlers: Mapping[type[EventModel], Registered],
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
                batches = await self._consumer.getmany(timeout_ms=500, max_records=BATCH_RECORDS)
                for tp, records in batches.items():
                    await self._process_batch(records, stop)
                    await self._commit(tp, records[-1].offset + 1)
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except (TimeoutError, KafkaError, OSError) as exc:
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
            assert self._consumer is not None  # only called from the loop that holds one
            await self._consumer.commit({tp: offset})
        except CommitFailedError as exc:
            # The group rebalanced; the batch will be redelivered and the inbox drops repeats.
            log.warning("consumer.commit_failed", partition=tp.partition, error=repr(exc))

    async def _process_batch(self, records: Sequence[ConsumerRecord], stop: asyncio.Event) -> None:
        """Apply a partition's batch: together, or split on failure (see the module's doc)."""
        ready: list[_Ready] = []
        seen: set[tuple[str, str]] = set()
        for record in records:
            item = await self._prepare(record)
            if item is None:
                continue
            if (item.event.source, item.event.id) in seen:
                metrics.EVENTS_CONSUMED.labels(self._settings.service_name, item.event.type, "duplicate").inc()
                continue
            seen.add((item.event.source, item.event.id))
            ready.append(item)
        await self._apply_all(ready, stop)

    async def _apply_all(self, items: Sequence[_Ready], stop: asyncio.Event) -> None:
        if len(items) <= 1:
            for item in items:
                await self._apply_one(item, stop)
            return
        backoff = 0.5
        while True:
            try:
                await self._apply_together(items)
                return
            except asyncio.CancelledError:
                raise
            except (OperationalError, DBAPIError, OSError) as exc:
                if not is_connection_problem(exc):
                    failure: Exception = exc
                    break
                log.warning("consumer.database_unavailable", records=len(items), error=exc)
                if stop.is_set():
                    raise asyncio.CancelledError from exc
                await wait_or_stop(stop, backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception as exc:
                failure = exc
                break
        log.info("consumer.batch_split", records=len(items), error=_describe(failure))
        half = len(items) // 2
        await self._apply_all(items[:half], stop)
        await self._apply_all(items[half:], stop)

    async def _apply_together(self, items: Sequence[_Ready]) -> None:
        async with self._batch_uow() as uow:
            claimed = await _claim_all(uow, [item.event for item in items])
            fresh = [item for item in items if (item.event.source, item.event.id) in claimed]
            for event_type, run in _runs(fresh, self.routes):
                await self.routes.apply_run(uow, event_type, [item.received for item in run])
            outcomes = Counter((item.event.type, "applied" if (item.event.source, item.event.id) in claimed else "duplicate")
                               for item in items)
            await uow.close_batch()
        for (event_type, outcome), n in outcomes.items():  # a label lookup per type, not per record
            metrics.EVENTS_CONSUMED.labels(self._settings.service_name, event_type, outcome).inc(n)

    async def _process(self, record: ConsumerRecord, stop: asyncio.Event) -> None:
        item = await self._prepare(record)
        if item is not None:
            await self._apply_one(item, stop)

    async def _prepare(self, record: ConsumerRecord) -> _Ready | None:
        """The record read and validated, or None when there is nothing to apply: not a type this
        service handles, or a poison message, which is set aside here."""
        try:
            event = from_record(record.value, record.headers)
        except MalformedEvent as exc:
            await self._dead_letter(record, f"malformed: {exc}")
            return None
        if not self.routes.handles(event.type):
            if event.type not in KNOWN_TYPES:
                await self._dead_letter(record, f"unknown event type {event.type!r}")
            return None  # topics carry many types; each service handles the ones it needs
        try:
            received = self.routes.validate(event)
        except InvalidPayload as exc:  # no retry can fix the data: set it aside on first delivery
            await self._dead_letter(record, str(exc))
            return None
        return _Ready(record, event, received, partial(self.routes.apply_run, event_type=event.type, run=[received]))

    async def _apply_one(self, item: _Ready, stop: asyncio.Event) -> None:
        service, record, event, apply = self._settings.service_name, item.record, item.event, item.apply
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
            except Exception as exc:
                failure = exc
            log.error("consumer.handler_failed", event_type=event.type, event_id=event.id, attempt=attempt, error=failure)
            if attempt >= HANDLER_ATTEMPTS:
                await self._dead_letter(record, f"handler failed {attempt} times: {_describe(failure)}")
                return
            await wait_or_stop(stop, backoff)

    def _batch_uow(self) -> _BatchUnitOfWork:
        return self._uow.of(_BatchUnitOfWork)

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
            except Exception as exc:
                log.warning("consumer.dead_letter_failed", error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def close(self) -> None:
        if self._consumer is not None:
            await _quietly_stop(self._consumer)
            self._consumer = None


def _runs(items: Sequence[_Ready], routes: Routes) -> Iterator[tuple[str, list[_Ready]]]:
    """The batch in order, as (type, records): consecutive records of a type whose handler is
    ``Batched`` together, every other record alone."""
    run: list[_Ready] = []
    for item in items:
        if run and (item.event.type != run[0].event.type or not routes.batches(item.event.type)):
            yield run[0].event.type, run
            run = []
        run.append(item)
    if run:
        yield run[0].event.type, run


async def _claim_all(uow: UnitOfWork, events: Sequence[Event]) -> set[tuple[str, str]]:
    """Record the batch's events in the inbox in one statement (``UnitOfWork.claim`` for many;
    the batch holds no repeats); returns the (source, id) of those not processed before."""
    # An executemany with RETURNING (SQLAlchemy's "insertmanyvalues": multi-row INSERTs from one
    # cached compilation; a ``.values([...])`` of a batch would be compiled afresh every batch).
    stmt = insert_ignoring_conflicts(uow.session, inbox).returning(inbox.c.source, inbox.c.event_id)
    rows = await uow.session.execute(stmt, [{"source": e.source, "event_id": e.id, "event_type": e.type}
                                            for e in events])
    return {(row.source, row.event_id) for row in rows}


def _describe(exc: BaseException) -> str:
    """The error's class and first line: a database error's later lines carry the statement's
    parameters (children's data), and the reason is shown to operators and published."""
    first = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


async def _quietly_stop(consumer: AIOKafkaConsumer) -> None:
    await stop_quietly(consumer, 10)
