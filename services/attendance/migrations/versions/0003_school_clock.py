"""school-hours clock: due_at per episode, leave decisions, chronic-absence flags

Revision ID: 0003
Revises: 0002
"""
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN_UNFIRED = "ended_at IS NULL AND threshold_fired_at IS NULL"
LIVE = "end_reason IS NULL OR end_reason = 'returned'"


def upgrade() -> None:
    op.add_column("roster", sa.Column("attending_since", sa.DateTime(timezone=True), nullable=True))
    for name, type_ in [("requested_by", sa.String(length=128)), ("decided_by", sa.String(length=128)),
                        ("decided_at", sa.DateTime(timezone=True)), ("decision_note", sa.Text())]:
        op.add_column("leaves", sa.Column(name, type_, nullable=True))
    op.drop_index("ix_episodes_open_unfired", table_name="absence_episodes",
                  postgresql_where=sa.text(OPEN_UNFIRED), sqlite_where=sa.text(OPEN_UNFIRED))
    with op.batch_alter_table("absence_episodes") as batch:
        batch.drop_constraint("uq_episode_student_start", type_="unique")
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.String(length=16), nullable=True))
    # Episodes open before this migration were counted in wall-clock hours from their start: keep
    # that (48 h) until the next roll call, leave or calendar change recomputes them.
    bind = op.get_bind()
    table = sa.table("absence_episodes", sa.column("id", sa.String), sa.column("started_at", sa.DateTime(timezone=True)),
                     sa.column("due_at", sa.DateTime(timezone=True)))
    for id_, started in bind.execute(sa.text(f"SELECT id, started_at FROM absence_episodes WHERE {OPEN_UNFIRED}")):
        if isinstance(started, str):  # SQLite hands back text
            started = datetime.fromisoformat(started)
        bind.execute(table.update().where(table.c.id == id_).values(due_at=started + timedelta(hours=48)))
    op.create_index("ix_episodes_student", "absence_episodes", ["student_id"], unique=False)
    op.create_index("uq_episodes_live_start", "absence_episodes", ["student_id", "started_at"], unique=True,
                    postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
    op.create_index("ix_episodes_due", "absence_episodes", ["due_at"], unique=False,
                    postgresql_where=sa.text(OPEN_UNFIRED), sqlite_where=sa.text(OPEN_UNFIRED))
    op.create_index("ix_roll_calls_school_date", "roll_calls", ["school_code", "date"], unique=False)
    op.create_table(
        "chronic_flags",
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("student_id", "term"),
    )


def downgrade() -> None:
    op.drop_table("chronic_flags")
    op.drop_index("ix_roll_calls_school_date", table_name="roll_calls")
    op.drop_index("ix_episodes_due", table_name="absence_episodes",
                  postgresql_where=sa.text(OPEN_UNFIRED), sqlite_where=sa.text(OPEN_UNFIRED))
    op.drop_index("uq_episodes_live_start", table_name="absence_episodes",
                  postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
    op.drop_index("ix_episodes_student", table_name="absence_episodes")
    with op.batch_alter_table("absence_episodes") as batch:
        batch.drop_column("end_reason")
        batch.drop_column("due_at")
        batch.create_unique_constraint("uq_episode_student_start", ["student_id", "started_at"])
    op.create_index("ix_episodes_open_unfired", "absence_episodes", ["started_at"], unique=False,
                    postgresql_where=sa.text(OPEN_UNFIRED), sqlite_where=sa.text(OPEN_UNFIRED))
    for name in ("decision_note", "decided_at", "decided_by", "requested_by"):
        op.drop_column("leaves", name)
    op.drop_column("roster", "attending_since")
