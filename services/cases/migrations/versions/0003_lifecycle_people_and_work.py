"""The lifecycle, people and work: a timestamp per state, the responsibility chain, plan items,
home visits, escalation of unacknowledged dual reports.

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
    op.create_table('home_visits',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('visitors', sa.JSON(), nullable=False),
    sa.Column('met', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('next_step', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_home_visits_case_id'), 'home_visits', ['case_id'], unique=False)
    op.create_table('plan_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_plan_items_case_id'), 'plan_items', ['case_id'], unique=False)
    op.create_table('home_visit_visitors',
    sa.Column('visit_id', sa.String(length=36), nullable=False),
    sa.Column('visitor', sa.String(length=100), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('org_path', sa.String(length=400), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['visit_id'], ['home_visits.id'], ),
    sa.PrimaryKeyConstraint('visit_id', 'visitor')
    )
    op.create_index('ix_home_visit_visitors_path_on', 'home_visit_visitors', ['org_path', 'visited_on'], unique=False)
    op.add_column('cases', sa.Column('child', sa.JSON(), nullable=True))
    op.add_column('cases', sa.Column('flags', sa.String(length=400), server_default=sa.text("'/'"), nullable=False))
    op.add_column('cases', sa.Column('org_chain', sa.JSON(), nullable=True))
    op.add_column('cases', sa.Column('source_ref', sa.String(length=64), nullable=True))
    op.add_column('cases', sa.Column('responsibility', sa.JSON(), nullable=True))
    op.add_column('cases', sa.Column('false_alarm_reason', sa.String(length=32), nullable=True))
    op.add_column('cases', sa.Column('outcome', sa.String(length=32), nullable=True))
    op.add_column('cases', sa.Column('evidence', sa.JSON(), nullable=True))
    op.add_column('cases', sa.Column('reopen_count', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('cases', sa.Column('verifying_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('false_alarm_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('persuading_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('home_teaching_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('transferred_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('judicial_notice_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('dual_reports', sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('dual_reports', sa.Column('escalated_to_org_code', sa.String(length=32), nullable=True))
    op.add_column('dual_reports', sa.Column('escalated_to_org_name', sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column('dual_reports', 'escalated_to_org_name')
    op.drop_column('dual_reports', 'escalated_to_org_code')
    op.drop_column('dual_reports', 'escalated_at')
    op.drop_column('cases', 'reopened_at')
    op.drop_column('cases', 'judicial_notice_at')
    op.drop_column('cases', 'transferred_at')
    op.drop_column('cases', 'home_teaching_at')
    op.drop_column('cases', 'returned_at')
    op.drop_column('cases', 'persuading_at')
    op.drop_column('cases', 'false_alarm_at')
    op.drop_column('cases', 'confirmed_at')
    op.drop_column('cases', 'verifying_at')
    op.drop_column('cases', 'reopen_count')
    op.drop_column('cases', 'evidence')
    op.drop_column('cases', 'outcome')
    op.drop_column('cases', 'false_alarm_reason')
    op.drop_column('cases', 'responsibility')
    op.drop_column('cases', 'source_ref')
    op.drop_column('cases', 'org_chain')
    op.drop_column('cases', 'flags')
    op.drop_column('cases', 'child')
    op.drop_index('ix_home_visit_visitors_path_on', table_name='home_visit_visitors')
    op.drop_table('home_visit_visitors')
    op.drop_index(op.f('ix_plan_items_case_id'), table_name='plan_items')
    op.drop_table('plan_items')
    op.drop_index(op.f('ix_home_visits_case_id'), table_name='home_visits')
    op.drop_table('home_visits')
