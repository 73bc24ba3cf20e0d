"""The outbox becomes the durable log (see shared/messaging.py, shared/outbox_log.py).

outbox.kafka_partition/kafka_offset record where the broker acknowledged each row, so the relay
can read the record back and re-publish what the broker lost.
"""

import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
    # batch mode: SQLite cannot drop columns in place (downgrade), and it is harmless on PostgreSQL.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kafka_partition", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("kafka_offset", sa.BigInteger(), nullable=True))
    op.create_index("ix_outbox_log", "outbox", ["topic", "kafka_partition", "kafka_offset"])


def downgrade() -> None:
    op.drop_index("ix_outbox_log", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("kafka_offset")
        batch.drop_column("kafka_partition")
