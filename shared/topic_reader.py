"""Reading what a topic holds, the one way: up to the high watermark a Fetch reports.

Every catch-up reader (the read model's rebuild, the relay's log check, tests, tools) reads here
and never asks ListOffsets for the end: the embedded Tansu broker answers ListOffsets(latest)
with the last record batch's base offset + 1, which is too low whenever that batch holds several
records (the relay's linger makes such batches), so a reader stopping there misses the tail. The
high watermark in a Fetch response is right on Tansu and on Kafka.

An empty poll is never taken for "caught up" (aiokafka#117): a partition is done when the
consumer's position has reached the high watermark of a fetch of that partition.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

OnRecord = Callable[[ConsumerRecord], Awaitable[None]]
# A fetch waits this long on an empty partition before answering; short, since an empty answer
# (with its high watermark) is exactly what these readers need.
FETCH_MAX_WAIT_MS = 100


class TopicMissing(Exception):
    """The broker has no such topic (deleted, or a broker that lost everything)."""


def _consumer(bootstrap: str, client_id: str) -> AIOKafkaConsumer:
    # No group: partitions are assigned by hand, nothing is committed, no rebalance to wait for.
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, client_id=client_id,
                            enable_auto_commit=False, auto_offset_reset="earliest",
                            fetch_max_wait_ms=FETCH_MAX_WAIT_MS, metadata_max_age_ms=5_000)


async def _partitions(consumer: AIOKafkaConsumer, topics: Sequence[str]) -> dict[str, list[TopicPartition]]:
    await consumer.topics()  # fetches the cluster metadata, so the partitions are known
    return {t: [TopicPartition(t, p) for p in sorted(consumer.partitions_for_topic(t) or ())] for t in topics}


async def read_to_end(bootstrap: str, topics: Sequence[str], on_record: OnRecord, *, client_id: str = "baoxue-reader",
                      timeout_s: float = 600.0) -> dict[TopicPartition, int]:
    """Hand every record of the topics, from the beginning, to ``on_record`` (awaited, in offset
    order per partition) until each partition reaches the high watermark of its first fetch, that
    is everything it held when the read began. Returns those ends. A missing topic reads as empty."""
    consumer = _consumer(bootstrap, client_id)
    await asyncio.wait_for(consumer.start(), timeout_s)
    try:
        partitions = [tp for tps in (await _partitions(consumer, topics)).values() for tp in tps]
        if not partitions:
            return {}
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + timeout_s
        while True:
            for tp in partitions:
                if tp not in ends and (highwater := consumer.highwater(tp)) is not None:
                    ends[tp] = highwater
            behind = [tp for tp in partitions if tp not in ends or await consumer.position(tp) < ends[tp]]
            if not behind:
                return ends
            if time.monotonic() > deadline:
                raise TimeoutError(f"not caught up within {timeout_s}s: {len(behind)} partitions behind, ends {ends}")
            for records in (await consumer.getmany(*behind, timeout_ms=200, max_records=500)).values():
                for record in records:
                    await on_record(record)
    finally:
        await consumer.stop()


async def collect(bootstrap: str, topics: Sequence[str], **kwargs: float | str) -> list[ConsumerRecord]:
    """Every record the topics hold now (``read_to_end`` into a list)."""
    records: list[ConsumerRecord] = []

    async def keep(record: ConsumerRecord) -> None:
        records.append(record)

    await read_to_end(bootstrap, topics, keep, **kwargs)  # type: ignore[arg-type]
    return records


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode(errors="replace") if value is not None else None
    return None


async def ce_ids_at(bootstrap: str, wanted: Mapping[TopicPartition, Sequence[int]], *,
                    client_id: str = "baoxue-reader", timeout_s: float = 30.0) -> dict[tuple[TopicPartition, int], str | None]:
    """The ``ce_id`` of the record at each wanted offset, or None where the broker no longer holds
    a record there (a missing topic or partition, an offset at or past the high watermark, or
    below the log start). Raises TimeoutError, never answers None, when the broker does not say."""
    consumer = _consumer(bootstrap, client_id)
    await asyncio.wait_for(consumer.start(), timeout_s)
    found: dict[tuple[TopicPartition, int], str | None] = {}
    deadline = time.monotonic() + timeout_s
    try:
        existing = {tp for tps in (await _partitions(consumer, sorted({tp.topic for tp in wanted}))).values() for tp in tps}
        present = [tp for tp in wanted if tp in existing]
        for tp in wanted:
            if tp not in existing:
                found.update({(tp, offset): None for offset in wanted[tp]})
        if present:
            consumer.assign(present)
        # One offset per partition at a time, every partition at once: a check costs as many
        # fetch round trips as the most probed partition has offsets, not their total.
        queues = {tp: sorted(set(wanted[tp])) for tp in present}
        while queues:
            asking = {tp: offsets.pop(0) for tp, offsets in queues.items()}
            queues = {tp: offsets for tp, offsets in queues.items() if offsets}
            found.update({(tp, offset): ce_id for tp, (offset, ce_id) in
                          (await _ce_ids_at(consumer, asking, deadline)).items()})
    finally:
        await consumer.stop()
    return found


async def _ce_ids_at(consumer: AIOKafkaConsumer, asking: dict[TopicPartition, int],
                     deadline: float) -> dict[TopicPartition, tuple[int, str | None]]:
    asked_ms = int(time.time() * 1000)
    for tp, offset in asking.items():
        consumer.seek(tp, offset)
    answers: dict[TopicPartition, tuple[int, str | None]] = {}
    while time.monotonic() < deadline:
        waiting = [tp for tp in asking if tp not in answers]
        if not waiting:
            return answers
        batches = await consumer.getmany(*waiting, timeout_ms=200)
        for tp in waiting:
            offset = asking[tp]
            if records := batches.get(tp):
                # Past the log start, or a gap the consumer resumed after: not the record asked for.
                answers[tp] = (offset, header(records[0], "ce_id") if records[0].offset == offset else None)
                continue
            # Only a fetch answered after the seek says where this partition ends now.
            polled, highwater = consumer.last_poll_timestamp(tp), consumer.highwater(tp)
            if polled is not None and polled >= asked_ms and highwater is not None and highwater <= offset:
                answers[tp] = (offset, None)
    raise TimeoutError(f"the broker did not answer for {sorted(asking.items())}")
