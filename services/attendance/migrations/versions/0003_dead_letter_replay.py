"""dead letters: published to baoxue.deadletter.v1 through the outbox, replayable by operators

Revision ID: 0003_dead_letters
Revises: 0002
"""
from shared.migration_steps import deadletters_v2

revision = "0003_dead_letters"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    deadletters_v2.upgrade()


def downgrade() -> None:
    deadletters_v2.downgrade()
