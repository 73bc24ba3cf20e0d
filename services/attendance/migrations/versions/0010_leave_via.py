"""leave: how a request reached the school (requested_via: guardian_phone, in_person, note)

Revision ID: 0010_leave_via
Revises: 0009_idempotency
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_leave_via"
down_revision = "0009_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leaves") as batch:
        batch.add_column(sa.Column("requested_via", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leaves") as batch:
        batch.drop_column("requested_via")
