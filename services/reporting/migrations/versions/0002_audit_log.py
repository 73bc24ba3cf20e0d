"""audit log: who read or changed which record, from where

Revision ID: 0002
Revises: 0001
"""
from shared.migration_steps import audit_v1

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    audit_v1.upgrade()


def downgrade() -> None:
    audit_v1.downgrade()
