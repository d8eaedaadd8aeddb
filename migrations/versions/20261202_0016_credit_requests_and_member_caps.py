"""Organizations: members' requests for credits to their managers, managers' monthly spending caps
per member, and a link on in-app notices (a credit request leads to the buy page, not a ticket).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'credit_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=10), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('priority_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("reason IN ('short', 'cap')", name=op.f('ck_credit_requests_reason_valid')),
        sa.CheckConstraint('amount > 0', name=op.f('ck_credit_requests_amount_positive')),
        sa.ForeignKeyConstraint(['account_id'], ['credit_accounts.id'], name=op.f('fk_credit_requests_account_id_credit_accounts')),
        sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_credit_requests_requester_id_users')),
        sa.ForeignKeyConstraint(['priority_id'], ['priorities.id'], name=op.f('fk_credit_requests_priority_id_priorities'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_requests')),
    )
    op.create_index(op.f('ix_credit_requests_account_id'), 'credit_requests', ['account_id'], unique=False)
    op.create_index('ix_credit_requests_requester_created', 'credit_requests', ['requester_id', 'created_at'], unique=False)
    op.create_table(
        'member_caps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('monthly_cap', sa.Integer(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('monthly_cap >= 0', name=op.f('ck_member_caps_cap_not_negative')),
        sa.ForeignKeyConstraint(['account_id'], ['credit_accounts.id'], name=op.f('fk_member_caps_account_id_credit_accounts'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_member_caps_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_member_caps_set_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_caps')),
        sa.UniqueConstraint('account_id', 'user_id', name=op.f('uq_member_caps_account_id_user_id')),
    )
    op.create_index(op.f('ix_member_caps_user_id'), 'member_caps', ['user_id'], unique=False)
    op.add_column('notices', sa.Column('link', sa.String(length=500), nullable=True))


def downgrade():
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+ has it): no table rebuild.
    op.drop_column('notices', 'link')
    op.drop_index(op.f('ix_member_caps_user_id'), table_name='member_caps')
    op.drop_table('member_caps')
    op.drop_index('ix_credit_requests_requester_created', table_name='credit_requests')
    op.drop_index(op.f('ix_credit_requests_account_id'), table_name='credit_requests')
    op.drop_table('credit_requests')
