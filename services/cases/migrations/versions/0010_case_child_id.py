"""cases.student_id is cases.child_id: it holds a student id, or the registry's person id of a
suspected out-of-school child, who has no student record. Data and the one-open-case-per-child
index are kept (SQLite rebuilds the table: batch mode); HTTP and events still say student_id.

Revision ID: 0010_case_child_id
Revises: 0006_dual_report_law
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_case_child_id"
down_revision = "0006_dual_report_law"
branch_labels = None
depends_on = None

OPEN = "status != 'closed'"


def _rename(old: str, new: str, old_index: str, new_index: str) -> None:
    op.drop_index(old_index, table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.alter_column(old, new_column_name=new, existing_type=sa.String(length=36), existing_nullable=False)
    op.create_index(new_index, "cases", [new], unique=True, postgresql_where=sa.text(OPEN),
                    sqlite_where=sa.text(OPEN))


def upgrade() -> None:
    _rename("student_id", "child_id", "ux_cases_one_open_per_student", "ux_cases_one_open_per_child")


def downgrade() -> None:
    _rename("child_id", "student_id", "ux_cases_one_open_per_child", "ux_cases_one_open_per_student")
