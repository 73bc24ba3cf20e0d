"""Kafka clients configured the same way in every service: acks=all, idempotence only where the
broker has it (Tansu has not), every send bounded by a timeout so nothing waits on a dead broker."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.envelope import TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_DEADLETTER, TOPIC_REGISTRY, TOPIC_REPORTS
from shared.settings import ServiceSettings

CONTRACT_TOPICS = (TOPIC_REGISTRY, TOPIC_ATTENDANCE, TOPIC_CASES, TOPIC_REPORTS, TOPIC_DEADLETTER)


async def ensure_topics(settings: ServiceSettings, topics=CONTRACT_TOPICS) -> None:
    """Create the contract topics that are missing, with the configured partitions.

    Relying on auto-creation by the first produce costs a NotLeaderForPartition round (seen on
    Tansu: ten seconds and a retried batch) and is often disabled on production clusters."""
    if not settings.kafka_create_topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                                client_id=f"baoxue-{settings.service_name}-admin")
    await asyncio.wait_for(admin.start(), settings.kafka_send_timeout_s)
    try:
        missing = set(topics) - set(await admin.list_topics())
        if missing:
            try:
                await admin.create_topics([
                    NewTopic(t, num_partitions=settings.kafka_topic_partitions,
                             replication_factor=settings.kafka_replication_factor) for t in sorted(missing)])
            except TopicAlreadyExistsError:
                pass  # another service created it first
    finally:
        await admin.close()


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"baoxue-{settings.service_name}",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=5,
        request_timeout_ms=int(settings.kafka_send_timeout_s * 1000),
    )


def make_consumer(settings: ServiceSettings, topics: list[str]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"baoxue-{settings.service_name}",
        group_id=settings.consumer_group,
        # Offsets are committed by hand, after the effect's transaction (at-least-once).
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # Short session timeouts: a restarted replica rejoins in seconds, not half a minute.
        session_timeout_ms=6_000,
        heartbeat_interval_ms=1_000,
        rebalance_timeout_ms=6_000,
        metadata_max_age_ms=5_000,
        max_poll_records=100,
    )
