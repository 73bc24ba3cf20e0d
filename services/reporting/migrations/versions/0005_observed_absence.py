"""observed absence: a withdrawn alarm leaves the weekly counts (absence_episodes.withdrawn_at)

Revision ID: 0005_observed_absence
Revises: 0005_outbox_log
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_observed_absence"
down_revision = "0005_outbox_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("absence_episodes") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("absence_episodes") as batch:
        batch.drop_column("withdrawn_at")
