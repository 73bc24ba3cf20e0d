"""population truth: why a child is suspected (graduates and primary leavers), flags with history, children without an ID, merged records, the problem-record queue, poverty lists

Revision ID: 0006_population_truth
Revises: 0005_outbox_log
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_population_truth"
down_revision = "0005_outbox_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # no_record | dropped_out | no_junior_middle_record; null for outside_compulsory_age findings
    # and for the findings of checks run before reasons were kept.
    with op.batch_alter_table("population_findings") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        # An attending record outside the compulsory age may have no ID yet.
        batch.alter_column("national_id", existing_type=sa.String(length=18), nullable=True)

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


    # A child with no ID yet. The partial unique index is dropped around the change and made
    # again by hand: SQLite's batch mode rebuilds the table and would not carry its WHERE.
    op.drop_index("ux_students_active_national_id", table_name="students")
    with op.batch_alter_table("students") as batch:
        batch.alter_column("national_id", existing_type=sa.String(length=18), nullable=True)
        batch.add_column(sa.Column("no_id_reason", sa.String(length=200), nullable=True))
    _active_id_index()
    op.create_table(
        "student_merges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kept_id", sa.String(length=36), nullable=False),
        sa.Column("merged_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("merged_record", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("merged_id"),
    )
    op.create_index("ix_student_merges_kept_id", "student_merges", ["kept_id"])
    op.create_table(
        "problem_dismissals",
        sa.Column("problem_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("student_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("problem_id"),
    )
    op.create_table(
        "poverty_lists",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("region_code", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("list_date", sa.Date(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["region_code"], ["orgs.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )


def _active_id_index() -> None:
    final = sa.text("status NOT IN ('graduated', 'deceased')")
    op.create_index("ux_students_active_national_id", "students", ["national_id"], unique=True,
                    postgresql_where=final, sqlite_where=final)


def downgrade() -> None:
    op.drop_table("poverty_lists")
    op.drop_table("problem_dismissals")
    op.drop_index("ix_student_merges_kept_id", table_name="student_merges")
    op.drop_table("student_merges")
    # Refused (NOT NULL) while records without an ID exist: deleting children's records to go
    # back a version is not a migration's call.
    op.drop_index("ux_students_active_national_id", table_name="students")
    with op.batch_alter_table("students") as batch:
        batch.drop_column("no_id_reason")
        batch.alter_column("national_id", existing_type=sa.String(length=18), nullable=False)
    _active_id_index()
    op.drop_index("ix_flag_history_student_flag", table_name="flag_history")
    op.drop_table("flag_history")
    with op.batch_alter_table("student_flags") as batch:
        batch.drop_column("category")
    op.execute("DELETE FROM population_findings WHERE national_id IS NULL")
    with op.batch_alter_table("population_findings") as batch:
        batch.alter_column("national_id", existing_type=sa.String(length=18), nullable=False)
        batch.drop_column("reason")
