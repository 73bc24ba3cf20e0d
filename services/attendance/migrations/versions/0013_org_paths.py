"""One encoding of a place: the roster's, the placements', the schools' and the gaps' org paths
"/a/b/c/" (they were JSON lists), byte-ordered so a scope is a prefix range on an index
(shared/paths.py); the roster and the gaps indexed by it (leave and gap lists are scoped on it).

Revision ID: 0013_org_paths
Revises: 0012_calendar_org_code
"""
from alembic import op

from shared.migration_steps import org_paths_v1

revision = "0013_org_paths"
down_revision = "0012_calendar_org_code"
branch_labels = None
depends_on = None

TABLES = ("roster", "placements", "school_rosters", "roll_call_gaps")


def upgrade() -> None:
    for table in TABLES:
        org_paths_v1.json_to_key(table, "org_path")
    op.create_index("ix_roster_org_path", "roster", ["org_path"])
    op.create_index("ix_roll_call_gaps_org_path", "roll_call_gaps", ["org_path"])
    org_paths_v1.audit_upgrade()


def downgrade() -> None:
    org_paths_v1.audit_downgrade()
    op.drop_index("ix_roll_call_gaps_org_path", table_name="roll_call_gaps")
    op.drop_index("ix_roster_org_path", table_name="roster")
    for table in TABLES:
        org_paths_v1.key_to_json(table, "org_path")
