"""observed absence: episodes fire on an observation, placements dated by the registry

Revision ID: 0005_observed_absence
Revises: 0005_outbox_log

* ``absence_episodes.observed_at``: the first session at or after ``due_at`` whose mark shows the
  child still away; the detector claims observed, unfired episodes, open or ended.
  ``detected_late``: the claim came after the episode had ended.
* ``placements``: the child's class and status from each registry effective date, so late data
  is checked against its own date.
* An episode ended by leaving the roll (``not_attending``) becomes live: it may still fire.

An open, unfired episode gets its observation from the marks already stored (an absent or leave
mark at or after its due instant; approved leave is looked at again by the next recomputation),
so no alarm is lost across the upgrade and none is raised on silence.
"""
import json
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005_observed_absence"
down_revision = "0005_outbox_log"
branch_labels = None
depends_on = None

OPEN_UNFIRED = "ended_at IS NULL AND threshold_fired_at IS NULL"
CLAIMABLE = "observed_at IS NOT NULL AND threshold_fired_at IS NULL"
OLD_LIVE = "end_reason IS NULL OR end_reason = 'returned'"
LIVE = "end_reason IS NULL OR end_reason IN ('returned', 'not_attending')"
# The first placement applies to every date before it.
SINCE_EVER = date(1900, 1, 1)


def _instant(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value  # SQLite hands back text


def upgrade() -> None:
    with op.batch_alter_table("absence_episodes") as batch:
        batch.add_column(sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("detected_late", sa.Boolean(), nullable=True))
    op.drop_index("ix_episodes_due", table_name="absence_episodes",
                  postgresql_where=sa.text(OPEN_UNFIRED), sqlite_where=sa.text(OPEN_UNFIRED))
    op.drop_index("uq_episodes_live_start", table_name="absence_episodes",
                  postgresql_where=sa.text(OLD_LIVE), sqlite_where=sa.text(OLD_LIVE))
    op.execute(
        "UPDATE absence_episodes SET observed_at = (SELECT MIN(m.at) FROM marks m"
        " WHERE m.student_id = absence_episodes.student_id AND m.at >= absence_episodes.due_at"
        " AND m.status IN ('absent', 'leave'))"
        f" WHERE {OPEN_UNFIRED} AND due_at IS NOT NULL")
    op.create_index("uq_episodes_live_start", "absence_episodes", ["student_id", "started_at"], unique=True,
                    postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
    op.create_index("ix_episodes_observed", "absence_episodes", ["observed_at"], unique=False,
                    postgresql_where=sa.text(CLAIMABLE), sqlite_where=sa.text(CLAIMABLE))
    placements = op.create_table(
        "placements",
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("school_code", sa.String(length=32), nullable=False),
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("org_path", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("student_id", "effective_on"),
    )
    # The roster knows only the present. Reconstruct what the old rules implied: marks before
    # `attending_since` belonged to an earlier stay (off the roll since ever, on it from then);
    # a child off the roll now left it when the roster last changed (China time).
    rows = []
    for sid, school, klass, path, status, active, since, updated in op.get_bind().execute(sa.text(
            "SELECT student_id, school_code, class_id, org_path, status, active, attending_since, updated_at"
            " FROM roster")):
        base = {"student_id": sid, "school_code": school, "class_id": klass,
                "org_path": json.loads(path) if isinstance(path, str) else path}
        if active:
            since = _instant(since)
            if since is None:
                rows.append({**base, "effective_on": SINCE_EVER, "status": status, "active": True})
            else:  # attending_since is the effective date's midnight at UTC+14
                rows += [{**base, "effective_on": SINCE_EVER, "status": "unknown", "active": False},
                         {**base, "effective_on": (since + timedelta(hours=14)).date(), "status": status,
                          "active": True}]
        else:
            left = (_instant(updated) + timedelta(hours=8)).date()
            rows += [{**base, "effective_on": SINCE_EVER, "status": "enrolled", "active": True},
                     {**base, "effective_on": max(left, SINCE_EVER + timedelta(days=1)), "status": status,
                      "active": False}]
    if rows:
        op.bulk_insert(placements, rows)


def downgrade() -> None:
    op.drop_table("placements")
    op.drop_index("ix_episodes_observed", table_name="absence_episodes",
                  postgresql_where=sa.text(CLAIMABLE), sqlite_where=sa.text(CLAIMABLE))
    op.drop_index("uq_episodes_live_start", table_name="absence_episodes",
                  postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
    op.create_index("uq_episodes_live_start", "absence_episodes", ["student_id", "started_at"], unique=True,
                    postgresql_where=sa.text(OLD_LIVE), sqlite_where=sa.text(OLD_LIVE))
    op.create_index("ix_episodes_due", "absence_episodes", ["due_at"], unique=False,
                    postgresql_where=sa.text(OPEN_UNFIRED), sqlite_where=sa.text(OPEN_UNFIRED))
    with op.batch_alter_table("absence_episodes") as batch:
        batch.drop_column("detected_late")
        batch.drop_column("observed_at")
