"""Withdrawn dual reports (an unverified report whose case was a false alarm) leave the count of
reports waiting for acknowledgement.

Revision ID: 0006_dual_report_law
Revises: 0010_roll_call_completeness
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_dual_report_law"
down_revision = "0010_roll_call_completeness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dual_reports") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dual_reports") as batch:
        batch.drop_column("withdrawn_at")
