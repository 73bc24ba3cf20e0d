"""initial: organisations, classes, students and their flags; outbox, inbox, dead letters

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
    op.create_table('orgs',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('path', sa.JSON(), nullable=False),
    sa.Column('path_key', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['orgs.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_orgs_path_key'), 'orgs', ['path_key'], unique=False)
    op.create_table('classes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('school_code', sa.String(length=32), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['school_code'], ['orgs.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('school_code', 'name', name='uq_class_school_name')
    )
    op.create_index(op.f('ix_classes_school_code'), 'classes', ['school_code'], unique=False)
    op.create_table('students',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('student_number', sa.String(length=32), nullable=False),
    sa.Column('national_id', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('school_code', sa.String(length=32), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('enrolled_on', sa.Date(), nullable=False),
    sa.Column('guardians', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], ),
    sa.ForeignKeyConstraint(['school_code'], ['orgs.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_students_class', 'students', ['class_id'], unique=False)
    op.create_index('ix_students_school_status', 'students', ['school_code', 'status'], unique=False)
    op.create_index('ux_students_active_national_id', 'students', ['national_id'], unique=True, postgresql_where=sa.text("(status NOT IN ('graduated', 'deceased'))"), sqlite_where=sa.text("(status NOT IN ('graduated', 'deceased'))"))
    op.create_table('student_flags',
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('flag', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('student_id', 'flag')
    )
    op.create_index('ix_student_flags_flag', 'student_flags', ['flag'], unique=False)
    messaging_v1.upgrade()


def downgrade() -> None:
    messaging_v1.downgrade()
    op.drop_index('ix_student_flags_flag', table_name='student_flags')
    op.drop_table('student_flags')
    op.drop_index('ux_students_active_national_id', table_name='students', postgresql_where=sa.text("(status NOT IN ('graduated', 'deceased'))"), sqlite_where=sa.text("(status NOT IN ('graduated', 'deceased'))"))
    op.drop_index('ix_students_school_status', table_name='students')
    op.drop_index('ix_students_class', table_name='students')
    op.drop_table('students')
    op.drop_index(op.f('ix_classes_school_code'), table_name='classes')
    op.drop_table('classes')
    op.drop_index(op.f('ix_orgs_path_key'), table_name='orgs')
    op.drop_table('orgs')
