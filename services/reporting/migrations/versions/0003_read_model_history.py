"""read model with history: status history, case timestamps, episodes, overdue transfers, dual reports

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('class_grades',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('class_grades', schema=None) as batch_op:
        batch_op.create_index('ix_reporting_class_grades_class', ['class_id', 'effective_on'], unique=False)

    op.create_table('absence_episodes',
    sa.Column('episode_id', sa.String(length=64), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('episode_id')
    )
    with op.batch_alter_table('absence_episodes', schema=None) as batch_op:
        batch_op.create_index('ix_reporting_absence_episodes_path', ['path'], unique=False)

    op.create_table('dual_reports',
    sa.Column('report_id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('recipient', sa.String(length=16), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('report_id')
    )
    with op.batch_alter_table('dual_reports', schema=None) as batch_op:
        batch_op.create_index('ix_reporting_dual_reports_case', ['case_id'], unique=False)

    op.create_table('home_visits',
    sa.Column('visit_id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('visit_id')
    )
    with op.batch_alter_table('home_visits', schema=None) as batch_op:
        batch_op.create_index('ix_reporting_home_visits_case', ['case_id'], unique=False)

    op.create_table('overdue_transfers',
    sa.Column('transfer_id', sa.String(length=36), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=True),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('transfer_id')
    )
    with op.batch_alter_table('overdue_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_reporting_overdue_transfers_path', ['path'], unique=False)

    op.create_table('student_statuses',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=True),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('student_statuses', schema=None) as batch_op:
        batch_op.create_index('ix_reporting_student_statuses_student', ['student_id', 'effective_on'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('class_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('first_visit_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_reporting_cases_student', ['student_id'], unique=False)

    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.add_column(sa.Column('class_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('school_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('national_id_masked', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('gender', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('flags', sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column('status_reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('status_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('enrolled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('placed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_reporting_students_class', ['class_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_index('ix_reporting_students_class')
        batch_op.drop_column('placed_at')
        batch_op.drop_column('enrolled_on')
        batch_op.drop_column('status_since')
        batch_op.drop_column('status_reason')
        batch_op.drop_column('flags')
        batch_op.drop_column('birth_date')
        batch_op.drop_column('gender')
        batch_op.drop_column('national_id_masked')
        batch_op.drop_column('name')
        batch_op.drop_column('school_code')
        batch_op.drop_column('class_id')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_reporting_cases_student')
        batch_op.drop_column('outcome')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('returned_at')
        batch_op.drop_column('first_visit_at')
        batch_op.drop_column('class_id')

    with op.batch_alter_table('student_statuses', schema=None) as batch_op:
        batch_op.drop_index('ix_reporting_student_statuses_student')

    op.drop_table('student_statuses')
    with op.batch_alter_table('overdue_transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_reporting_overdue_transfers_path')

    op.drop_table('overdue_transfers')
    with op.batch_alter_table('home_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_reporting_home_visits_case')

    op.drop_table('home_visits')
    with op.batch_alter_table('dual_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reporting_dual_reports_case')

    op.drop_table('dual_reports')
    with op.batch_alter_table('absence_episodes', schema=None) as batch_op:
        batch_op.drop_index('ix_reporting_absence_episodes_path')

    op.drop_table('absence_episodes')
    with op.batch_alter_table('class_grades', schema=None) as batch_op:
        batch_op.drop_index('ix_reporting_class_grades_class')

    op.drop_table('class_grades')
