"""责任落实 from cases' own events: when each case first had a 劝返责任人 and a plan item, and
every standing responsibility assignment (七长/五级) as it was put.

Revision ID: 0007_persuasion_evidence
Revises: 0005_observed_absence
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_persuasion_evidence"
down_revision = "0005_observed_absence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_work",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("responsible_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "standing_assignments",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("org_code", sa.String(length=36), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_reporting_standing_org", "standing_assignments", ["org_code", "assigned_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reporting_standing_org", table_name="standing_assignments")
    op.drop_table("standing_assignments")
    op.drop_table("case_work")
