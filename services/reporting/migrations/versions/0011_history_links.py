"""Each status row links to its neighbours in the child's history (the next row's effective_on,
the previous row's status, whether the child had dropped out by this row), kept by the
projection, so the school year's figures count most children without a window over all of them.

Revision ID: 0011_history_links
Revises: 0006_dual_report_law

The existing rows are linked here with the same windows the projection's ``link_history`` uses.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_history_links"
down_revision = "0006_dual_report_law"
branch_labels = None
depends_on = None

LINK = """
UPDATE student_statuses SET next_on = w.next_on, prev_status = w.prev_status, was_out = (w.was_out = 1)
FROM (SELECT id,
             lead(effective_on) OVER (PARTITION BY student_id ORDER BY effective_on, at, id) AS next_on,
             lag(status) OVER (PARTITION BY student_id ORDER BY effective_on, at, id) AS prev_status,
             max(CASE WHEN status = 'dropped_out' THEN 1 ELSE 0 END)
                 OVER (PARTITION BY student_id ORDER BY effective_on, at, id) AS was_out
      FROM student_statuses) AS w
WHERE student_statuses.id = w.id
"""


def upgrade() -> None:
    with op.batch_alter_table("student_statuses") as batch:
        batch.add_column(sa.Column("next_on", sa.Date, nullable=True))
        batch.add_column(sa.Column("prev_status", sa.String(32), nullable=True))
        batch.add_column(sa.Column("was_out", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_index("ix_reporting_student_statuses_changes", ["effective_on", "prev_status"])
    op.execute(LINK)


def downgrade() -> None:
    with op.batch_alter_table("student_statuses") as batch:
        batch.drop_index("ix_reporting_student_statuses_changes")
        batch.drop_column("was_out")
        batch.drop_column("prev_status")
        batch.drop_column("next_on")
