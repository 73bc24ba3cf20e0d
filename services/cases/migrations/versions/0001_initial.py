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
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('origin', sa.String(length=32), nullable=False),
    sa.Column('episode_id', sa.String(length=36), nullable=True),
    sa.Column('school_code', sa.String(length=32), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=True),
    sa.Column('org_path', sa.String(length=400), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_cases_org_path', 'cases', ['org_path'], unique=False)
    op.create_index('ux_cases_one_open_per_student', 'cases', ['student_id'], unique=True, postgresql_where=sa.text("status != 'closed'"), sqlite_where=sa.text("status != 'closed'"))
    op.create_table('students',
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('national_id_masked', sa.String(length=18), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('birth_date', sa.String(length=10), nullable=False),
    sa.Column('school_code', sa.String(length=32), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('org_path', sa.JSON(), nullable=False),
    sa.Column('org_chain', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('guardians', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('student_id')
    )
    op.create_table('case_timeline',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_case_timeline_case_id'), 'case_timeline', ['case_id'], unique=False)
    op.create_table('dual_reports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('recipient', sa.String(length=16), nullable=False),
    sa.Column('recipient_org_code', sa.String(length=32), nullable=False),
    sa.Column('recipient_org_name', sa.String(length=200), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'recipient', name='uq_dual_report_case_recipient')
    )
    messaging_v1.upgrade()


def downgrade() -> None:
    messaging_v1.downgrade()
    op.drop_table('dual_reports')
    op.drop_index(op.f('ix_case_timeline_case_id'), table_name='case_timeline')
    op.drop_table('case_timeline')
    op.drop_table('students')
    op.drop_index('ux_cases_one_open_per_student', table_name='cases', postgresql_where=sa.text("status != 'closed'"), sqlite_where=sa.text("status != 'closed'"))
    op.drop_index('ix_cases_org_path', table_name='cases')
    op.drop_table('cases')
