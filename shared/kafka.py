"""Kafka clients configured the same way in every service: acks=all, idempotence only where the
broker has it (Tansu has not), every send bounded by a timeout so nothing waits on a dead broker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from shared.events import TOPICS
from shared.settings import ServiceSettings

log = structlog.get_logger("baoxue.kafka")

CONTRACT_TOPICS = TOPICS  # every topic an event model names (shared/events/)


async def ensure_topics(settings: ServiceSettings, topics: Sequence[str] = CONTRACT_TOPICS) -> dict[str, int]:
    """Create the contract topics that are missing, with the configured partitions and retention;
    return the existing ones whose retention would drop records (topic -> retention.ms), which are
    also logged: the services never change a topic's configuration, that is the operator's
    (README, "Operating it").

    The topics are the history a rebuild replays, so they keep their records for as long as
    BAOXUE_KAFKA_TOPIC_RETENTION_MS says (forever by default).

    Relying on auto-creation by the first produce costs a NotLeaderForPartition round (seen on
    Tansu: ten seconds and a retried batch) and is often disabled on production clusters."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                                client_id=f"baoxue-{settings.service_name}-admin")
    await asyncio.wait_for(admin.start(), settings.kafka_send_timeout_s)
    try:
        existing = set(await admin.list_topics())
        missing = set(topics) - existing
        if missing and settings.kafka_create_topics:
            try:
                await admin.create_topics([
                    NewTopic(t, num_partitions=settings.kafka_topic_partitions,
                             replication_factor=settings.kafka_replication_factor,
                             topic_configs={"retention.ms": str(settings.kafka_topic_retention_ms)})
                    for t in sorted(missing)])
            except TopicAlreadyExistsError:
                pass  # another service created it first
        finite = await _finite_retention(admin, sorted(set(topics) & existing), settings.kafka_send_timeout_s)
    finally:
        await admin.close()
    for topic, retention_ms in finite.items():
        log.warning("kafka.topic_retention_finite", topic=topic, retention_ms=retention_ms,
                    detail="records older than this are dropped and a rebuild will miss them; set retention.ms=-1")
    return finite


async def _finite_retention(admin: AIOKafkaAdminClient, topics: list[str], timeout_s: float) -> dict[str, int]:
    if not topics:
        return {}
    try:
        # Every entry, not a filter by name: the embedded broker drops the connection on a filter.
        responses = await asyncio.wait_for(admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]), timeout_s)
    except Exception as exc:
        log.debug("kafka.describe_configs_failed", error=repr(exc))
        return {}
    finite: dict[str, int] = {}
    for response in responses:
        for _error, _message, _type, name, entries in response.resources:
            for entry in entries:
                if entry[0] == "retention.ms" and entry[1] is not None and int(entry[1]) >= 0:
                    finite[name] = int(entry[1])
    return finite


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"baoxue-{settings.service_name}",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=5,
        request_timeout_ms=int(settings.kafka_send_timeout_s * 1000),
    )


class LogAssignment(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka has no type information
    """Logs the partitions the group gives this process at each rebalance (`consumer.assigned`):
    which replica reads what, for operators and for the replica tests (Tansu's DescribeGroups
    answers the members but not their assignments)."""

    def __init__(self, group: str) -> None:
        self.group = group

    def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("consumer.assigned", group=self.group,
                 partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))


def make_consumer(settings: ServiceSettings, topics: list[str]) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"baoxue-{settings.service_name}",
        group_id=settings.consumer_group,
        # Offsets are committed by hand, after the effect's transaction (at-least-once).
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # Short session timeouts: a restarted replica rejoins in seconds, not half a minute.
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_session_timeout_ms // 6,  # Kafka asks for under a third
        rebalance_timeout_ms=settings.kafka_session_timeout_ms,
        metadata_max_age_ms=5_000,
        max_poll_records=100,
    )
    consumer.subscribe(topics, listener=LogAssignment(settings.consumer_group))
    return consumer


async def stop_quietly(client: AIOKafkaConsumer | AIOKafkaProducer, timeout_s: float) -> None:
    """Stop a client that may be broken (its broker gone, its start() failed) without raising.

    aiokafka's stop() awaits its own background tasks; one cancelled inside it surfaces here as a
    CancelledError that is not a request to cancel *this* task (seen when a consumer stops after
    its broker went away). Only a cancellation of the caller itself is passed on."""
    try:
        await asyncio.wait_for(client.stop(), timeout_s)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.debug("kafka.stop_cancelled_inside", client=type(client).__name__)
    except Exception as exc:
        log.debug("kafka.stop_failed", client=type(client).__name__, error=type(exc).__name__)
