"""calendars: the key column is org_code (it holds any org's code: a school's own layer or a
region's default), not school_code; the rows are kept

Revision ID: 0012_calendar_org_code
Revises: 0010_roll_call_completeness
"""
from alembic import op

revision = "0012_calendar_org_code"
down_revision = "0010_roll_call_completeness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite renames through a table copy (batch); PostgreSQL renames in place, the key kept.
    with op.batch_alter_table("calendars") as batch:
        batch.alter_column("school_code", new_column_name="org_code")


def downgrade() -> None:
    with op.batch_alter_table("calendars") as batch:
        batch.alter_column("org_code", new_column_name="school_code")
