"""dead letters: published to baoxue.deadletter.v1 through the outbox, replayable by operators

Revision ID: 0004
Revises: 0003
"""
from shared.migration_steps import deadletters_v2

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    deadletters_v2.upgrade()


def downgrade() -> None:
    deadletters_v2.downgrade()
