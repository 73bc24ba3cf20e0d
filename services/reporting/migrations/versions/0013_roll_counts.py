"""The roll counts: the children's newest status rows counted per class and kind of row, kept by
the projection (reporting/usecases/rolls.py) so that a city's school-year figures read some
tens of thousands of counts instead of its million rows; and the indexes that recount a class
and find the rows whose successor came after a day.

Revision ID: 0013_roll_counts
Revises: 0012_org_paths

The existing rows are counted here as ``rolls.recount_all`` counts them.
"""
import sqlalchemy as sa
from alembic import op

from shared.migration_steps.org_paths_v1 import path_type

revision = "0013_roll_counts"
down_revision = "0012_org_paths"
branch_labels = None
depends_on = None

COUNT = """
INSERT INTO roll_counts (class_id, path, status, prev_status, was_out, grade, effective_on, epoch, n)
SELECT h.class_id, h.path, h.status, h.prev_status, h.was_out, h.grade, h.effective_on,
       (SELECT count(*) FROM class_grades g WHERE g.class_id = h.class_id AND g.at <= h.at) AS epoch,
       count(*)
FROM student_statuses h
WHERE h.next_on IS NULL
GROUP BY h.class_id, h.path, h.status, h.prev_status, h.was_out, h.grade, h.effective_on, epoch
"""


def upgrade() -> None:
    op.create_table(
        "roll_counts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("class_id", sa.String(36), nullable=True),
        sa.Column("path", path_type(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("prev_status", sa.String(32), nullable=True),
        sa.Column("was_out", sa.Boolean, nullable=False),
        sa.Column("grade", sa.Integer, nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
    )
    op.create_index("ix_reporting_roll_counts_class", "roll_counts", ["class_id", "path"])
    op.create_index("ix_reporting_student_statuses_class", "student_statuses", ["class_id", "next_on"])
    op.create_index("ix_reporting_student_statuses_next_on", "student_statuses", ["next_on"])
    op.execute(COUNT)


def downgrade() -> None:
    op.drop_index("ix_reporting_student_statuses_next_on", table_name="student_statuses")
    op.drop_index("ix_reporting_student_statuses_class", table_name="student_statuses")
    op.drop_index("ix_reporting_roll_counts_class", table_name="roll_counts")
    op.drop_table("roll_counts")
