"""Dual reports as the law asks: a verification deadline before the reports, why a dropout left,
two distinct offices per area, withdrawn unverified reports, certified unable to study.

Cases opened before this revision keep the reports they had: ``reports_issued_at`` is their
reports' issue time, and their reports' area is the org they were addressed to.

Revision ID: 0006_dual_report_law
Revises: 0009_idempotency
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_dual_report_law"
down_revision = "0009_idempotency"
branch_labels = None
depends_on = None

CASE_COLUMNS = ("verify_due_at", "reports_issued_at", "back_at", "unable_to_study_at")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for name in CASE_COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("causes", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("cause_note", sa.Text(), nullable=True))
    op.create_index("ix_cases_verify_due_at", "cases", ["verify_due_at"])
    with op.batch_alter_table("dual_reports") as batch:
        batch.add_column(sa.Column("area_code", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("unverified", sa.Boolean(), nullable=False, server_default=sa.text("false")))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE dual_reports SET area_code = recipient_org_code")
    op.execute("UPDATE cases SET reports_issued_at = (SELECT MIN(r.issued_at) FROM dual_reports r "
               "WHERE r.case_id = cases.id)")
    op.create_table(
        "orgs",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_code", sa.String(length=32), nullable=True),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("line", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "recipient_offices",
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("line", sa.String(length=16), nullable=False),
        sa.Column("office_code", sa.String(length=32), nullable=False),
        sa.Column("office_name", sa.String(length=200), nullable=False),
        sa.Column("named_by", sa.String(length=200), nullable=False),
        sa.Column("named_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("area_code", "line"),
    )


def downgrade() -> None:
    op.drop_table("recipient_offices")
    op.drop_table("orgs")
    with op.batch_alter_table("dual_reports") as batch:
        for name in ("withdrawn_at", "unverified", "area_code"):
            batch.drop_column(name)
    op.drop_index("ix_cases_verify_due_at", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        for name in (*CASE_COLUMNS, "causes", "cause_note"):
            batch.drop_column(name)
