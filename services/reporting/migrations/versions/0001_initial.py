"""initial

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from shared.migration_steps import messaging_v1

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_index('ix_reporting_cases_path', 'cases', ['path'], unique=False)
    op.create_table('orgs',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('students',
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('student_id')
    )
    op.create_index('ix_reporting_students_path', 'students', ['path'], unique=False)
    op.create_table('watermarks',
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('topic')
    )
    messaging_v1.upgrade()


def downgrade() -> None:
    messaging_v1.downgrade()
    op.drop_table('watermarks')
    op.drop_index('ix_reporting_students_path', table_name='students')
    op.drop_table('students')
    op.drop_table('orgs')
    op.drop_index('ix_reporting_cases_path', table_name='cases')
    op.drop_table('cases')
