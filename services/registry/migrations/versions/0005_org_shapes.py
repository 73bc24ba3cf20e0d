"""org shapes: each school has a system (6+3, 5+4, nine_year, twelve_year); existing schools are 6+3

Revision ID: 0005_org_shapes
Revises: 0005_status_watch
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_org_shapes"
down_revision = "0005_status_watch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orgs", sa.Column("system", sa.String(length=16), nullable=True))
    # Every school registered before systems were recorded was taken to be six-three.
    op.execute("UPDATE orgs SET system = '6+3' WHERE kind = 'school'")


def downgrade() -> None:
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("system")
