"""population truth: why a child is suspected (graduates and primary leavers), flags with history

Revision ID: 0006_population_truth
Revises: 0005_status_watch
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_population_truth"
down_revision = "0005_status_watch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # no_record | dropped_out | no_junior_middle_record; null for outside_compulsory_age findings
    # and for the findings of checks run before reasons were kept.
    op.add_column("population_findings", sa.Column("reason", sa.String(length=32), nullable=True))

    # poor_household: the poverty office's category (脱贫户, 防返贫监测对象, 低保...).
    op.add_column("student_flags", sa.Column("category", sa.String(length=32), nullable=True))
    op.create_table(
        "flag_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("flag", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_flag_history_student_flag", "flag_history", ["student_id", "flag", "effective_on"])


def downgrade() -> None:
    op.drop_index("ix_flag_history_student_flag", table_name="flag_history")
    op.drop_table("flag_history")
    with op.batch_alter_table("student_flags") as batch:
        batch.drop_column("category")
    with op.batch_alter_table("population_findings") as batch:
        batch.drop_column("reason")
