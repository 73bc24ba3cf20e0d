"""Persuasion work with evidence: standing responsibility (七长/五级), home visits that belong
to the child (a case is optional), when a case's 劝返责任人 was first named, and the legal
ladder's steps with their generated documents, home teaching sessions with their lesson plans
(uploaded files), and targeted assistance.

Revision ID: 0007_persuasion_evidence
Revises: 0006_population_truth
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_persuasion_evidence"
down_revision = "0006_population_truth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "standing_responsibility",
        sa.Column("org_code", sa.String(length=36), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("org_path", sa.String(length=400), nullable=False),
        sa.Column("assignments", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_code"),
    )
    op.create_table(
        "legal_steps",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("issuing_org_code", sa.String(length=36), nullable=False),
        sa.Column("issuing_org_name", sa.String(length=200), nullable=False),
        sa.Column("guardian", sa.String(length=100), nullable=False),
        sa.Column("served_on", sa.Date(), nullable=False),
        sa.Column("served_how", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("document_number", sa.String(length=100), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("response", sa.String(length=16), nullable=True),
        sa.Column("responded_on", sa.Date(), nullable=True),
        sa.Column("response_note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "step", name="uq_legal_step_case_step"),
    )
    op.create_index(op.f("ix_legal_steps_case_id"), "legal_steps", ["case_id"], unique=False)
    op.create_table(
        "legal_documents",
        sa.Column("step_id", sa.String(length=36), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["step_id"], ["legal_steps.id"]),
        sa.PrimaryKeyConstraint("step_id", "format"),
    )
    op.create_table(
        "stored_files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "home_teaching_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("org_path", sa.String(length=400), nullable=False),
        sa.Column("class_id", sa.String(length=36), nullable=True),
        sa.Column("county_code", sa.String(length=32), nullable=True),
        sa.Column("taught_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("teachers", sa.JSON(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("lesson_plan_id", sa.String(length=36), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lesson_plan_id"], ["stored_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_home_teaching_sessions_student_id"), "home_teaching_sessions", ["student_id"])
    op.create_index(op.f("ix_home_teaching_sessions_county_code"), "home_teaching_sessions", ["county_code"])
    op.create_table(
        "assistance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("org_path", sa.String(length=400), nullable=False),
        sa.Column("class_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_assistance_student_id"), "assistance", ["student_id"])
    op.add_column("cases", sa.Column("responsible_assigned_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("home_visits") as batch:
        batch.alter_column("case_id", existing_type=sa.String(length=36), nullable=True)
        batch.add_column(sa.Column("student_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("org_path", sa.String(length=400), nullable=True))
        batch.add_column(sa.Column("class_id", sa.String(length=36), nullable=True))
    op.create_index(op.f("ix_home_visits_student_id"), "home_visits", ["student_id"], unique=False)
    op.create_index("ix_home_visits_path_on", "home_visits", ["org_path", "visited_on"], unique=False)
    # Visits recorded before this revision were all on a case: the child and place are the case's.
    for column in ("student_id", "org_path", "class_id"):
        op.execute(f"UPDATE home_visits SET {column} = (SELECT cases.{column} FROM cases "
                   f"WHERE cases.id = home_visits.case_id)")
    # A case whose chain already names a 劝返责任人 had one from its last update at the latest.
    cases = sa.table("cases", sa.column("id", sa.String), sa.column("responsibility", sa.JSON),
                     sa.column("updated_at", sa.DateTime(timezone=True)),
                     sa.column("responsible_assigned_at", sa.DateTime(timezone=True)))
    bind = op.get_bind()
    named = [r.id for r in bind.execute(sa.select(cases.c.id, cases.c.responsibility))
             if isinstance(r.responsibility, dict) and (r.responsibility.get("responsible_person") or {}).get("name")]
    if named:
        bind.execute(sa.update(cases).where(cases.c.id.in_(named)).values(responsible_assigned_at=cases.c.updated_at))


def downgrade() -> None:
    op.drop_index("ix_home_visits_path_on", table_name="home_visits")
    op.drop_index(op.f("ix_home_visits_student_id"), table_name="home_visits")
    # Visits without a case cannot survive a schema where every visit is on one.
    op.execute("DELETE FROM home_visit_visitors WHERE visit_id IN (SELECT id FROM home_visits WHERE case_id IS NULL)")
    op.execute("DELETE FROM home_visits WHERE case_id IS NULL")
    with op.batch_alter_table("home_visits") as batch:
        batch.drop_column("class_id")
        batch.drop_column("org_path")
        batch.drop_column("student_id")
        batch.alter_column("case_id", existing_type=sa.String(length=36), nullable=False)
    op.drop_column("cases", "responsible_assigned_at")
    op.drop_index(op.f("ix_assistance_student_id"), table_name="assistance")
    op.drop_table("assistance")
    op.drop_index(op.f("ix_home_teaching_sessions_county_code"), table_name="home_teaching_sessions")
    op.drop_index(op.f("ix_home_teaching_sessions_student_id"), table_name="home_teaching_sessions")
    op.drop_table("home_teaching_sessions")
    op.drop_table("stored_files")
    op.drop_table("legal_documents")
    op.drop_index(op.f("ix_legal_steps_case_id"), table_name="legal_steps")
    op.drop_table("legal_steps")
    op.drop_table("standing_responsibility")
