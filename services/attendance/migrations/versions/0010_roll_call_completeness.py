"""roll-call completeness: schools' first roster day, missing class-sessions, escalations

Revision ID: 0010_roll_call_completeness
Revises: 0005_observed_absence

* ``school_rosters``: each school heard of and its first roster day (roll calls are expected
  from then). Schools already on the roster get the upgrade's date: nothing before the upgrade
  is chased.
* ``roll_call_gaps``: a class-session found missing (once), and when it was filled late.
* ``roll_call_escalations``: a run of missed school days escalated once to the township.
"""
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0010_roll_call_completeness"
down_revision = "0011_roll_call_revisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schools = op.create_table(
        "school_rosters",
        sa.Column("school_code", sa.String(32), primary_key=True),
        sa.Column("org_path", sa.JSON, nullable=False),
        sa.Column("org_chain", sa.JSON, nullable=False),
        sa.Column("first_roster_day", sa.Date, nullable=False),
    )
    op.create_table(
        "roll_call_gaps",
        sa.Column("class_id", sa.String(36), primary_key=True),
        sa.Column("date", sa.Date, primary_key=True),
        sa.Column("session", sa.String(2), primary_key=True),
        sa.Column("school_code", sa.String(32), nullable=False),
        sa.Column("org_path", sa.JSON, nullable=False),
        sa.Column("session_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("missing_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_roll_call_gaps_school_date", "roll_call_gaps", ["school_code", "date"])
    op.create_table(
        "roll_call_escalations",
        sa.Column("class_id", sa.String(36), primary_key=True),
        sa.Column("run_start", sa.Date, primary_key=True),
        sa.Column("school_code", sa.String(32), nullable=False),
        sa.Column("township_code", sa.String(32), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # One row per school already on the roster, with one of its pupils' paths.
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT school_code, org_path, org_chain FROM roster")).fetchall()
    seen: dict[str, tuple] = {}
    for code, path, chain in rows:
        seen.setdefault(code, (path, chain))
    if seen:
        import json

        def _json(v):
            return json.loads(v) if isinstance(v, str) else v  # SQLite hands back text

        op.bulk_insert(schools, [{"school_code": c, "org_path": _json(p), "org_chain": _json(ch) or [],
                                  "first_roster_day": date.today()} for c, (p, ch) in seen.items()])


def downgrade() -> None:
    op.drop_table("roll_call_escalations")
    op.drop_index("ix_roll_call_gaps_school_date", table_name="roll_call_gaps")
    op.drop_table("roll_call_gaps")
    op.drop_table("school_rosters")
