"""One encoding per concept: every org path "/a/b/c/" (the students' and the org tree's were
JSON lists), byte-ordered so a scope is a prefix range on an index (shared/paths.py); flags
"/a/b/" everywhere (the students' were a JSON list, an empty case's "//").

Revision ID: 0012_org_paths
Revises: 0010_case_child_id
"""
from alembic import op

from shared.migration_steps import org_paths_v1

revision = "0012_org_paths"
down_revision = "0010_case_child_id"
branch_labels = None
depends_on = None

STRING_PATHS = [("cases", "org_path", False), ("home_visits", "org_path", True),
                ("home_visit_visitors", "org_path", False), ("standing_responsibility", "org_path", False),
                ("home_teaching_sessions", "org_path", False), ("assistance", "org_path", False)]


def upgrade() -> None:
    org_paths_v1.json_to_key("students", "org_path")
    org_paths_v1.json_to_key("students", "flags", collate=False)
    org_paths_v1.json_to_key("orgs", "path")
    for table, column, nullable in STRING_PATHS:
        org_paths_v1.collate_c(table, column, nullable=nullable)
    org_paths_v1.empty_as_slash("cases", "flags")
    op.create_index("ix_cases_students_org_path", "students", ["org_path"])
    org_paths_v1.audit_upgrade()


def downgrade() -> None:
    org_paths_v1.audit_downgrade()
    op.drop_index("ix_cases_students_org_path", table_name="students")
    for table, column, _nullable in STRING_PATHS:
        org_paths_v1.collate_default(table, column)
    org_paths_v1.key_to_json("orgs", "path")
    org_paths_v1.key_to_json("students", "flags")
    org_paths_v1.key_to_json("students", "org_path")
