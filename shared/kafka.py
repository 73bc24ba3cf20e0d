"""Kafka clients configured the same way in every service (see ../shared/PITFALLS.md)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.settings import ServiceSettings


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
