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
    op.create_table('absence_episodes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_absent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('absent_sessions', sa.Integer(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('threshold_fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('student_id', 'started_at', name='uq_episode_student_start')
    )
    op.create_index('ix_episodes_open_unfired', 'absence_episodes', ['started_at'], unique=False, postgresql_where=sa.text('ended_at IS NULL AND threshold_fired_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL AND threshold_fired_at IS NULL'))
    op.create_table('calendars',
    sa.Column('school_code', sa.String(length=32), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('school_code')
    )
    op.create_table('leaves',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_leaves_student_id'), 'leaves', ['student_id'], unique=False)
    op.create_table('roll_calls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('school_code', sa.String(length=32), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('session', sa.String(length=2), nullable=False),
    sa.Column('session_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('device_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('class_id', 'date', 'session', name='uq_roll_call_session')
    )
    op.create_table('roster',
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('school_code', sa.String(length=32), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('org_path', sa.JSON(), nullable=False),
    sa.Column('org_chain', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('student_id')
    )
    op.create_index('ix_roster_class', 'roster', ['class_id'], unique=False)
    op.create_table('marks',
    sa.Column('roll_call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['roll_call_id'], ['roll_calls.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('roll_call_id', 'student_id')
    )
    op.create_index('ix_marks_student_at', 'marks', ['student_id', 'at'], unique=False)
    messaging_v1.upgrade()


def downgrade() -> None:
    messaging_v1.downgrade()
    op.drop_index('ix_marks_student_at', table_name='marks')
    op.drop_table('marks')
    op.drop_index('ix_roster_class', table_name='roster')
    op.drop_table('roster')
    op.drop_table('roll_calls')
    op.drop_index(op.f('ix_leaves_student_id'), table_name='leaves')
    op.drop_table('leaves')
    op.drop_table('calendars')
    op.drop_index('ix_episodes_open_unfired', table_name='absence_episodes', postgresql_where=sa.text('ended_at IS NULL AND threshold_fired_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL AND threshold_fired_at IS NULL'))
    op.drop_table('absence_episodes')
