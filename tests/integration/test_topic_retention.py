"""Topics the services create keep every record; an existing topic that would drop records is
reported (the services never change a topic's configuration: the operator owns it)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.envelope import TOPIC_CASES
from shared.kafka import CONTRACT_TOPICS, ensure_topics
from tests.conftest import settings_for

WEEK_MS = 7 * 24 * 3600 * 1000


async def test_created_topics_keep_every_record_and_a_finite_retention_is_reported(broker):
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        # An operator made this one by hand, with Kafka's default of a week.
        await admin.create_topics([NewTopic(TOPIC_CASES, 3, 1, topic_configs={"retention.ms": str(WEEK_MS)})])
        settings = settings_for("registry", kafka_bootstrap=broker.bootstrap, environment="test")
        assert await ensure_topics(settings) == {TOPIC_CASES: WEEK_MS}
        described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in CONTRACT_TOPICS])
        retention = {name: dict((e[0], e[1]) for e in entries).get("retention.ms")
                     for response in described for _, _, _, name, entries in response.resources}
    finally:
        await admin.close()
    assert retention == {t: "-1" for t in CONTRACT_TOPICS if t != TOPIC_CASES} | {TOPIC_CASES: str(WEEK_MS)}
