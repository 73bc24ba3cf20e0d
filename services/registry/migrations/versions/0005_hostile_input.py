"""hostile input: names compared in NFC (students.name_key), dry-run imports counted per caller and day

Revision ID: 0005_hostile_input
Revises: 0006_population_truth
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0005_hostile_input"
down_revision = "0006_population_truth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("name_key", sa.String(length=100), nullable=True))
    # What was typed stays in name; the key is its NFC form, computed here as the app does.
    conn = op.get_bind()
    students = sa.table("students", sa.column("id", sa.String), sa.column("name", sa.String),
                        sa.column("name_key", sa.String))
    rows = conn.execute(sa.select(students.c.id, students.c.name)).all()
    for start in range(0, len(rows), 1000):
        conn.execute(students.update().where(students.c.id == sa.bindparam("row_id"))
                     .values(name_key=sa.bindparam("key")),
                     [{"row_id": r.id, "key": unicodedata.normalize("NFC", r.name)} for r in rows[start:start + 1000]])
    op.create_table(
        "import_dry_runs",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "day"),
    )


def downgrade() -> None:
    op.drop_table("import_dry_runs")
    with op.batch_alter_table("students") as batch:
        batch.drop_column("name_key")
