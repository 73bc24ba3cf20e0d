"""population truth: a child enrolled without an ID has no masked ID to copy

Revision ID: 0006_population_truth
Revises: 0005_outbox_log
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_population_truth"
down_revision = "0005_outbox_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.alter_column("national_id_masked", existing_type=sa.String(length=18), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE students SET national_id_masked = '' WHERE national_id_masked IS NULL")
    with op.batch_alter_table("students") as batch:
        batch.alter_column("national_id_masked", existing_type=sa.String(length=18), nullable=False)
