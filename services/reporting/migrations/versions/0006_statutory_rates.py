"""targets per org (一县一策): an org's own targets, set over HTTP; not a projection, so a rebuild keeps them

Revision ID: 0006_statutory_rates
Revises: 0007_persuasion_evidence
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_statutory_rates"
down_revision = "0007_persuasion_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("org_path", sa.String(length=400), nullable=False),
        sa.Column("junior_dropout_max", sa.Float(), nullable=True),
        sa.Column("primary_dropout_max", sa.Float(), nullable=True),
        sa.Column("retention_min", sa.Float(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_role", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("org_code"),
    )


def downgrade() -> None:
    op.drop_table("targets")
