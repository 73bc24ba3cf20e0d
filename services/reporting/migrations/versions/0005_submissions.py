"""frozen report submissions (survive a rebuild), and when a case was confirmed and moved to persuading

Revision ID: 0005_submissions
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_submissions"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("org_path", sa.String(length=400), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_role", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reporting_submissions_period", "submissions", ["kind", "period", "org_code"])
    # Existing cases get these from a rebuild (the status events carry them); until then NULL
    # counts as "not yet", which only lowers the weekly share, never invents one.
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("persuading_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("persuading_at")
        batch_op.drop_column("confirmed_at")
    op.drop_index("ix_reporting_submissions_period", table_name="submissions")
    op.drop_table("submissions")
