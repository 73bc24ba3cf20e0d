"""status watch: boarding elsewhere and suspension periods with receipt and end, transfers started by the receiver

Revision ID: 0005_status_watch
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_status_watch"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = "closed_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "off_roll_periods",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("school_code", sa.String(length=32), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("expected_end", sa.Date(), nullable=True),
        sa.Column("host_school_code", sa.String(length=32), nullable=True),
        sa.Column("host_school_name", sa.String(length=200), nullable=True),
        sa.Column("host_region", sa.String(length=6), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("receipt_by", sa.String(length=200), nullable=True),
        sa.Column("receipt_evidence", sa.String(length=500), nullable=True),
        sa.Column("receipt_overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("off_roll_periods", schema=None) as batch_op:
        batch_op.create_index("ix_off_roll_periods_student_id", ["student_id"], unique=False)
        batch_op.create_index("ix_off_roll_periods_open", ["closed_at", "kind", "started_on"], unique=False)
        batch_op.create_index("ix_off_roll_periods_host", ["host_school_code"], unique=False)
        batch_op.create_index("ux_off_roll_periods_open_student", ["student_id"], unique=True,
                              postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_by", sa.String(length=16), nullable=False, server_default="sender"))
    # Records already boarding elsewhere or suspended get their period, with nothing known but
    # the start: the watch list shows what is missing and the watchdog chases it.
    op.execute("""
        INSERT INTO off_roll_periods (id, student_id, kind, school_code, started_on, reason, created_by, created_at)
        SELECT s.id, s.id, s.status, s.school_code,
               COALESCE((SELECT MAX(h.effective_on) FROM status_history h
                         WHERE h.student_id = s.id AND h.status = s.status), s.enrolled_on),
               (SELECT h.reason FROM status_history h WHERE h.student_id = s.id AND h.status = s.status
                ORDER BY h.id DESC LIMIT 1),
               'migration 0005', CURRENT_TIMESTAMP
        FROM students s WHERE s.status IN ('boarding_elsewhere', 'suspended')
    """)


def downgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_column("started_by")
    with op.batch_alter_table("off_roll_periods", schema=None) as batch_op:
        batch_op.drop_index("ux_off_roll_periods_open_student", postgresql_where=sa.text(OPEN),
                            sqlite_where=sa.text(OPEN))
        batch_op.drop_index("ix_off_roll_periods_host")
        batch_op.drop_index("ix_off_roll_periods_open")
        batch_op.drop_index("ix_off_roll_periods_student_id")
    op.drop_table("off_roll_periods")
