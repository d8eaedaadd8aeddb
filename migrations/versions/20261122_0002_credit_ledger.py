"""credit ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 23:51:31.778087

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand after autogenerate.
    op.create_table('service_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('credits_enabled', sa.Boolean(), nullable=False),
    sa.Column('signup_grant', sa.Integer(), nullable=False),
    sa.Column('monthly_allowance', sa.Integer(), nullable=False),
    sa.Column('rollover_cap', sa.Integer(), nullable=True),
    sa.Column('billing_mode', sa.String(length=20), nullable=False),
    sa.Column('minute_rate', sa.Integer(), nullable=False),
    sa.Column('overdraft_floor', sa.Integer(), nullable=False),
    sa.Column('guarantee', sa.Boolean(), nullable=False),
    sa.Column('self_service', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.CheckConstraint("billing_mode IN ('priority', 'time')", name=op.f('ck_service_plans_billing_mode_valid')),
    sa.CheckConstraint('minute_rate > 0', name=op.f('ck_service_plans_minute_rate_positive')),
    sa.CheckConstraint('overdraft_floor <= 0', name=op.f('ck_service_plans_floor_not_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_plans')),
    sa.UniqueConstraint('name', name=op.f('uq_service_plans_name'))
    )
    op.create_table('plan_priorities',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('priority_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['service_plans.id'], name=op.f('fk_plan_priorities_plan_id_service_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['priority_id'], ['priorities.id'], name=op.f('fk_plan_priorities_priority_id_priorities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', 'priority_id', name=op.f('pk_plan_priorities'))
    )
    op.create_table('credit_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (organization_id IS NULL)', name=op.f('ck_credit_accounts_one_owner')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_credit_accounts_organization_id_organizations')),
    sa.ForeignKeyConstraint(['plan_id'], ['service_plans.id'], name=op.f('fk_credit_accounts_plan_id_service_plans')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_credit_accounts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_accounts')),
    sa.UniqueConstraint('organization_id', name=op.f('uq_credit_accounts_organization_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_credit_accounts_user_id'))
    )
    with op.batch_alter_table('credit_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_accounts_plan_id'), ['plan_id'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('payment_ref', sa.String(length=100), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('memo', sa.String(length=500), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('signup_grant', 'allowance', 'purchase', 'charge', 'refund', 'adjustment', 'reversal')", name=op.f('ck_ledger_entries_kind_valid')),
    sa.ForeignKeyConstraint(['account_id'], ['credit_accounts.id'], name=op.f('fk_ledger_entries_account_id_credit_accounts')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_ledger_entries_actor_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ledger_entries_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_entries_idempotency_key'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_account_id_id', ['account_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_payment_ref'), ['payment_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('priorities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_cost', sa.Integer(), nullable=False, server_default='0'))



def downgrade():
    # Reviewed by hand after autogenerate.
    with op.batch_alter_table('priorities', schema=None) as batch_op:
        batch_op.drop_column('credit_cost')

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_payment_ref'))
        batch_op.drop_index('ix_ledger_entries_account_id_id')

    op.drop_table('ledger_entries')
    with op.batch_alter_table('credit_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_accounts_plan_id'))

    op.drop_table('credit_accounts')
    op.drop_table('plan_priorities')
    op.drop_table('service_plans')
