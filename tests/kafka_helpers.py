"""Reading and writing the real broker from tests with plain aiokafka clients."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from shared.envelope import Event, from_record
from shared.topic_reader import collect, read_to_end


async def read_events(bootstrap: str, topic: str, *, until: Callable[[list[Event]], bool],
                      timeout: float = 30) -> list[Event]:
    """Every event on the topic from the beginning, polling until `until(events)` or timeout."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                metadata_max_age_ms=1000)
    await consumer.start()
    events: list[Event] = []
    keys: list[bytes | None] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    events.append(from_record(r.value, r.headers))
                    keys.append(r.key)
            if until(events):
                break
    finally:
        await consumer.stop()
    for event, key in zip(events, keys):
        object.__setattr__(event, "kafka_key", key)
    return events


async def read_all(bootstrap: str, topic: str) -> list[Event]:
    """Every event the topic holds now, read up to its high watermark (shared/topic_reader.py):
    what "nothing more arrived" is checked against, with no waiting for silence."""
    events = []
    for record in await collect(bootstrap, [topic], client_id="baoxue-test-reader", timeout_s=60):
        event = from_record(record.value, record.headers)
        object.__setattr__(event, "kafka_key", record.key)
        events.append(event)
    return events


async def group_has_consumed_everything(bootstrap: str, group: str, topics: list[str]) -> bool:
    """True once the consumer group has committed, on every partition, the high watermark the
    partition has now: the group has been through every record (applied or dropped as a repeat),
    so no effect of those records is still to come."""

    async def skip(_record) -> None:
        return None

    ends = await read_to_end(bootstrap, topics, skip, client_id="baoxue-test-reader", timeout_s=60)
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await probe.start()  # never subscribes, so never joins the group it asks about
    try:
        for tp, end in ends.items():
            if end and ((await probe.committed(tp)) or 0) < end:
                return False
        return True
    finally:
        await probe.stop()


async def publish(bootstrap: str, topic: str, event: Event, *, key: str | None = None, times: int = 1) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for _ in range(times):
            await producer.send_and_wait(topic, event.value(), key=(key or event.subject).encode(),
                                         headers=event.headers())
    finally:
        await producer.stop()


async def publish_many(bootstrap: str, topic: str, events: list[Event]) -> None:
    """A burst: every event sent before waiting for the acknowledgements."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        sent = [await producer.send(topic, e.value(), key=e.subject.encode(), headers=e.headers()) for e in events]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def eventually(check, *, timeout: float = 30, interval: float = 0.2):
    """Poll an async check until it returns something truthy; return that, or fail."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


_offsets = itertools.count()


def poison_record(value: bytes | None, headers, *, topic: str = "baoxue.registry.v1", key: bytes | None = b"k"):
    """A record as a consumer receives it, for setting aside without a broker."""
    return ConsumerRecord(topic=topic, partition=0, offset=next(_offsets), timestamp=0, timestamp_type=0, key=key,
                          value=value, checksum=None, serialized_key_size=len(key or b""),
                          serialized_value_size=len(value or b""), headers=tuple(headers))


async def publish_raw(bootstrap: str, topic: str, value: bytes | None, headers, *, key: bytes = b"poison") -> None:
    """Put any record on a topic, readable or not (poison messages)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=list(headers))
    finally:
        await producer.stop()
