"""outbox as the durable log: the partition and offset the broker acknowledged for each row

Revision ID: 0005_outbox_log
Revises: 0005_org_shapes
"""
from shared.migration_steps import outbox_log_v3

revision = "0005_outbox_log"
down_revision = "0005_org_shapes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    outbox_log_v3.upgrade()


def downgrade() -> None:
    outbox_log_v3.downgrade()
