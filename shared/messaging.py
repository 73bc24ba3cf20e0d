"""Tables every service has for reliable messaging: outbox, inbox and dead letters.

Shapes as of the frozen steps messaging_v1, deadletters_v2 and outbox_log_v3 (shared/migration_steps).

They live on their own MetaData so each service's Alembic history creates the same three
tables beside its own, and the relay and consumer below work the same everywhere.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)

from shared.types import UtcDateTime

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("source", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("event_time", UtcDateTime(), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    # CloudEvents extension attributes as a JSON object, sent as extra ``ce_<name>`` headers
    # (a dead letter carries its reason this way).
    Column("extensions", Text, nullable=True),
    # Where the broker acknowledged the row (shared/outbox_log.py): the relay reads the record
    # back there to find out whether the broker still holds it. NULL while unsent, and for rows
    # sent before offsets were recorded.
    Column("kafka_partition", Integer, nullable=True),
    Column("kafka_offset", BigInteger, nullable=True),
)
# The relay only ever scans unsent rows; a partial index keeps that scan small forever.
Index(
    "ix_outbox_unsent",
    outbox.c.id,
    postgresql_where=outbox.c.sent_at.is_(None),
    sqlite_where=outbox.c.sent_at.is_(None),
)
# The log check picks, per partition, the oldest, newest and furthest acknowledged rows, and
# looks rows up by offset; the rows are kept for a school year, so this must not be a scan.
Index("ix_outbox_log", outbox.c.topic, outbox.c.kafka_partition, outbox.c.kafka_offset)

inbox = Table(
    "inbox",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("key", LargeBinary, nullable=True),
    Column("headers", Text, nullable=False),
    Column("value", LargeBinary, nullable=True),
    Column("reason", Text, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
    # Set when an operator replayed it through the handler: applied, duplicate or ignored.
    Column("replayed_at", UtcDateTime(), nullable=True),
    Column("replay_outcome", String(20), nullable=True),
)
