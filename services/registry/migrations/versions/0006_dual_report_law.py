"""Dual-report recipient offices: orgs of kind ``office`` under their area, each with a line
(government or education).

Revision ID: 0006_dual_report_law
Revises: 0009_idempotency
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_dual_report_law"
down_revision = "0009_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orgs") as batch:
        batch.add_column(sa.Column("line", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("line")
