"""student lifecycle: status history, transfers with receipt, population checks, school years

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

    op.create_table('population_checks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=32), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('school_age', sa.Integer(), nullable=False),
    sa.Column('suspected', sa.Integer(), nullable=False),
    sa.Column('outside_age', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['orgs.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest')
    )
    op.create_table('population_findings',
    sa.Column('check_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('national_id', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('age', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=400), nullable=True),
    sa.Column('student_id', sa.String(length=36), nullable=True),
    sa.Column('school_code', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['check_id'], ['population_checks.id'], ),
    sa.PrimaryKeyConstraint('check_id', 'kind', 'person_id')
    )
    op.create_table('status_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('previous_status', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('school_code', sa.String(length=32), nullable=False),
    sa.Column('transfer_id', sa.String(length=36), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_history_student_id'), ['student_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('from_school_code', sa.String(length=32), nullable=False),
    sa.Column('from_class_id', sa.String(length=36), nullable=False),
    sa.Column('to_school_code', sa.String(length=32), nullable=True),
    sa.Column('destination', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_on', sa.Date(), nullable=True),
    sa.Column('confirmed_by', sa.String(length=200), nullable=True),
    sa.Column('to_class_id', sa.String(length=36), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index('ix_transfers_pending', ['status', 'requested_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_student_id'), ['student_id'], unique=False)
        batch_op.create_index('ux_transfers_pending_student', ['student_id'], unique=True, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))

    with op.batch_alter_table('classes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('school_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('graduated_on', sa.Date(), nullable=True))

    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.add_column(sa.Column('household_region', sa.String(length=6), nullable=True))
        batch_op.create_index('ix_students_household_region', ['household_region'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_index('ix_students_household_region')
        batch_op.drop_column('household_region')

    with op.batch_alter_table('classes', schema=None) as batch_op:
        batch_op.drop_column('graduated_on')
        batch_op.drop_column('school_year')

    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('ux_transfers_pending_student', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_transfers_student_id'))
        batch_op.drop_index('ix_transfers_pending')

    op.drop_table('transfers')
    with op.batch_alter_table('status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_history_student_id'))

    op.drop_table('status_history')
    op.drop_table('population_findings')
    op.drop_table('population_checks')

