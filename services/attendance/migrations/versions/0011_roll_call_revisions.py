"""roll-call revisions: the sender and device id of each roll call, and every send it replaced

Revision ID: 0011_roll_call_revisions
Revises: 0010_leave_via
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_roll_call_revisions"
down_revision = "0010_leave_via"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("roll_calls") as batch:
        batch.add_column(sa.Column("sender", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("client_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_roll_calls_client_id", ["client_id"])
    op.create_table(
        "roll_call_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=True),
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=2), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=True),
        sa.Column("device_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("marks", sa.Text(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_roll_call_revisions_client_id", "roll_call_revisions", ["client_id"])
    op.create_index("ix_roll_call_revisions_session", "roll_call_revisions", ["class_id", "date", "session"])


def downgrade() -> None:
    op.drop_index("ix_roll_call_revisions_session", table_name="roll_call_revisions")
    op.drop_index("ix_roll_call_revisions_client_id", table_name="roll_call_revisions")
    op.drop_table("roll_call_revisions")
    with op.batch_alter_table("roll_calls") as batch:
        batch.drop_constraint("uq_roll_calls_client_id", type_="unique")
        batch.drop_column("fingerprint")
        batch.drop_column("client_id")
        batch.drop_column("sender")
