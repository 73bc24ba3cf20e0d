"""idempotency keys: a POST retried with the same Idempotency-Key gets its first answer

Revision ID: 0009_idempotency
Revises: 0005_observed_absence
"""
from shared.migration_steps import idempotency_v1

revision = "0009_idempotency"
down_revision = "0005_observed_absence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    idempotency_v1.upgrade()


def downgrade() -> None:
    idempotency_v1.downgrade()
