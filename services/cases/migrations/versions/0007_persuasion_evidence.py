"""Persuasion work with evidence: standing responsibility (七长/五级), home visits that belong
to the child (a case is optional), and when a case's 劝返责任人 was first named.

Revision ID: 0007_persuasion_evidence
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_persuasion_evidence"
down_revision = "0004"
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
    op.drop_table("standing_responsibility")
