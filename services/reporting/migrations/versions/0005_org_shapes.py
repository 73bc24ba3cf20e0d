"""org shapes: schools' systems in the read model (levels follow them), cases keep their grade

Revision ID: 0005_org_shapes
Revises: 0005_submissions
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_org_shapes"
down_revision = "0005_submissions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orgs", sa.Column("system", sa.String(length=16), nullable=True))
    # Schools announced before systems were recorded were all six-three.
    op.execute("UPDATE orgs SET system = '6+3' WHERE kind = 'school'")
    op.create_index("ix_reporting_orgs_path", "orgs", ["path"], unique=False)
    op.add_column("cases", sa.Column("grade", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("grade")
    op.drop_index("ix_reporting_orgs_path", table_name="orgs")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("system")
