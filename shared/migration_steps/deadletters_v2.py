"""Dead letters go to a topic and can be replayed (see shared/messaging.py, shared/deadletters.py).

outbox.extensions carries extra CloudEvents attributes (the dead letter's reason);
dead_letters.replayed_at/replay_outcome record an operator's replay.
"""

import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
    # batch mode: SQLite cannot drop columns in place (downgrade), and it is harmless on PostgreSQL.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("extensions", sa.Text(), nullable=True))
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("replay_outcome", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("replay_outcome")
        batch.drop_column("replayed_at")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("extensions")
