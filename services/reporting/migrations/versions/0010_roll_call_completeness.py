"""roll-call completeness: one row per class-session attendance expected or took a roll call for

Revision ID: 0010_roll_call_completeness
Revises: 0006_statutory_rates

Filled from attendance's roll_call.recorded and roll_call.missing (new with this revision):
nothing before them is known, so the figures start empty rather than at 0 %.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_roll_call_completeness"
down_revision = "0009_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roll_call_sessions",
        sa.Column("class_id", sa.String(36), primary_key=True),
        sa.Column("date", sa.Date, primary_key=True),
        sa.Column("session", sa.String(2), primary_key=True),
        sa.Column("path", sa.String(400), nullable=False),
        sa.Column("expected", sa.Boolean, nullable=False),
        sa.Column("taken", sa.Boolean, nullable=False),
        sa.Column("on_time", sa.Boolean, nullable=False),
        sa.Column("seen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("marked", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_reporting_roll_call_sessions_path_date", "roll_call_sessions", ["path", "date"])


def downgrade() -> None:
    op.drop_index("ix_reporting_roll_call_sessions_path_date", table_name="roll_call_sessions")
    op.drop_table("roll_call_sessions")
