"""One encoding per concept: paths byte-ordered (a scope is a prefix range on the index, see
shared/paths.py), flags "/a/b/" like paths (they were "|a|b|"), and the status history's paths
indexed (every "ever under the org" subquery reads them).

Revision ID: 0012_org_paths
Revises: 0011_history_links
"""
from alembic import op

from shared.migration_steps import org_paths_v1

revision = "0012_org_paths"
down_revision = "0011_history_links"
branch_labels = None
depends_on = None

PATHS = [("orgs", "path"), ("students", "path"), ("student_statuses", "path"), ("cases", "path"),
         ("absence_episodes", "path"), ("overdue_transfers", "path"), ("roll_call_sessions", "path"),
         ("submissions", "org_path"), ("targets", "org_path")]


def upgrade() -> None:
    for table, column in PATHS:
        org_paths_v1.collate_c(table, column)
    org_paths_v1.bars_to_slashes("students", "flags")
    op.create_index("ix_reporting_student_statuses_path", "student_statuses", ["path"])
    org_paths_v1.audit_upgrade()


def downgrade() -> None:
    org_paths_v1.audit_downgrade()
    op.drop_index("ix_reporting_student_statuses_path", table_name="student_statuses")
    org_paths_v1.slashes_to_bars("students", "flags")
    for table, column in PATHS:
        org_paths_v1.collate_default(table, column)
