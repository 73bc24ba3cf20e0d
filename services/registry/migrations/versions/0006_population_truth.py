"""population truth: why a child is suspected (graduates and primary leavers)

Revision ID: 0006_population_truth
Revises: 0005_status_watch
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_population_truth"
down_revision = "0005_status_watch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # no_record | dropped_out | no_junior_middle_record; null for outside_compulsory_age findings
    # and for the findings of checks run before reasons were kept.
    op.add_column("population_findings", sa.Column("reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("population_findings") as batch:
        batch.drop_column("reason")
