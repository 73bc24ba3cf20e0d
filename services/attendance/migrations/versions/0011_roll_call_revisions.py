"""roll-call revisions: every send of a class-session kept with sender, device time and receipt time

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
    op.create_table(
        "roll_call_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=True),
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=2), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("device_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("marks", sa.Text(), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    op.create_index("ix_roll_call_revisions_session", "roll_call_revisions", ["class_id", "date", "session"])


def downgrade() -> None:
    op.drop_index("ix_roll_call_revisions_session", table_name="roll_call_revisions")
    op.drop_table("roll_call_revisions")
