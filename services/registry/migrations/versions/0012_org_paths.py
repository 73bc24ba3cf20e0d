"""One encoding of a place: orgs.path stored as "/410000/410100/.../" (it was a JSON list beside
a path_key string holding the same), byte-ordered and indexed, so a scope is a prefix range.

Revision ID: 0012_org_paths
Revises: 0006_dual_report_law
"""
import sqlalchemy as sa
from alembic import op

from shared.migration_steps import org_paths_v1

revision = "0012_org_paths"
down_revision = "0006_dual_report_law"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_orgs_path_key", table_name="orgs")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("path_key")
    org_paths_v1.json_to_key("orgs", "path")
    op.create_index("ix_orgs_path", "orgs", ["path"])
    org_paths_v1.audit_upgrade()


def downgrade() -> None:
    org_paths_v1.audit_downgrade()
    op.drop_index("ix_orgs_path", table_name="orgs")
    with op.batch_alter_table("orgs") as batch:
        batch.add_column(sa.Column("path_key", sa.String(length=400), nullable=True))
    op.execute("UPDATE orgs SET path_key = path")
    with op.batch_alter_table("orgs") as batch:
        batch.alter_column("path_key", existing_type=sa.String(length=400), nullable=False)
    org_paths_v1.key_to_json("orgs", "path")
    op.create_index("ix_orgs_path_key", "orgs", ["path_key"])
