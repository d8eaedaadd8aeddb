"""Card subscriptions to plans with a monthly allowance, and automatic top-ups.

- plan_prices: a plan's Stripe price for a monthly subscription, and the plan a bank falls back
  to when its subscription ends;
- plan_subscriptions and subscription_invoices: each bank's subscription and its Stripe invoices (an
  invoice grants its allowance once);
- credit_accounts.allowance_invoiced: the bank's allowance comes with each paid invoice, so the
  monthly allowance run skips it;
- auto_top_ups: a bank's rule "when the balance falls under X, buy pack Y" with its saved card;
- payments.kind ("pack" or "top_up"), and a top-up's lease, attempts and card failure code.
  Columns are added with plain ALTER TABLE.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'credit_accounts',
        sa.Column('allowance_invoiced', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    )
    op.create_table(
        'plan_prices',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('stripe_price_id', sa.String(length=255), nullable=True),
        sa.Column('fallback_plan_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['fallback_plan_id'], ['service_plans.id'], name=op.f('fk_plan_prices_fallback_plan_id_service_plans'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['plan_id'], ['service_plans.id'], name=op.f('fk_plan_prices_plan_id_service_plans'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('plan_id', name=op.f('pk_plan_prices')),
    )
    op.create_table(
        'plan_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('stripe_session_id', sa.String(length=255), nullable=True),
        sa.Column('checkout_url', sa.Text(), nullable=True),
        sa.Column('stripe_subscription_id', sa.String(length=255), nullable=True),
        sa.Column('stripe_customer_id', sa.String(length=255), nullable=True),
        sa.Column('paid_until', sa.DateTime(), nullable=True),
        sa.Column('ends_at', sa.DateTime(), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'past_due', 'canceled', 'ended', 'expired')",
            name=op.f('ck_plan_subscriptions_status_valid'),
        ),
        sa.ForeignKeyConstraint(['account_id'], ['credit_accounts.id'], name=op.f('fk_plan_subscriptions_account_id_credit_accounts')),
        sa.ForeignKeyConstraint(['plan_id'], ['service_plans.id'], name=op.f('fk_plan_subscriptions_plan_id_service_plans')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_plan_subscriptions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_subscriptions')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_plan_subscriptions_idempotency_key')),
        sa.UniqueConstraint('stripe_session_id', name=op.f('uq_plan_subscriptions_stripe_session_id')),
        sa.UniqueConstraint('stripe_subscription_id', name=op.f('uq_plan_subscriptions_stripe_subscription_id')),
    )
    op.create_index(op.f('ix_plan_subscriptions_account_id'), 'plan_subscriptions', ['account_id'], unique=False)
    op.create_index(op.f('ix_plan_subscriptions_user_id'), 'plan_subscriptions', ['user_id'], unique=False)
    op.create_index(op.f('ix_plan_subscriptions_stripe_customer_id'), 'plan_subscriptions', ['stripe_customer_id'], unique=False)
    op.create_index('ix_plan_subscriptions_status_ends_at', 'plan_subscriptions', ['status', 'ends_at'], unique=False)
    op.create_table(
        'subscription_invoices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.String(length=255), nullable=False),
        sa.Column('stripe_subscription_id', sa.String(length=255), nullable=True),
        sa.Column('subscription_id', sa.Integer(), nullable=True),
        sa.Column('billing_reason', sa.String(length=50), nullable=False),
        sa.Column('amount_paid', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('period_start', sa.DateTime(), nullable=True),
        sa.Column('period_end', sa.DateTime(), nullable=True),
        sa.Column('paid_at', sa.DateTime(), nullable=True),
        sa.Column('failed_at', sa.DateTime(), nullable=True),
        sa.Column('failure_notified_at', sa.DateTime(), nullable=True),
        sa.Column('granted_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['subscription_id'], ['plan_subscriptions.id'], name=op.f('fk_subscription_invoices_subscription_id_plan_subscriptions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_invoices')),
        sa.UniqueConstraint('invoice_id', name=op.f('uq_subscription_invoices_invoice_id')),
    )
    op.create_index(op.f('ix_subscription_invoices_stripe_subscription_id'), 'subscription_invoices', ['stripe_subscription_id'], unique=False)
    op.create_index(op.f('ix_subscription_invoices_subscription_id'), 'subscription_invoices', ['subscription_id'], unique=False)
    op.create_table(
        'auto_top_ups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('pack_id', sa.Integer(), nullable=False),
        sa.Column('threshold', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('provider', sa.String(length=20), nullable=False),
        sa.Column('setup_session_id', sa.String(length=255), nullable=True),
        sa.Column('setup_key', sa.String(length=200), nullable=True),
        sa.Column('setup_url', sa.Text(), nullable=True),
        sa.Column('stripe_customer_id', sa.String(length=255), nullable=True),
        sa.Column('payment_method_id', sa.String(length=255), nullable=True),
        sa.Column('card_saved_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('threshold >= 0', name=op.f('ck_auto_top_ups_threshold_not_negative')),
        sa.ForeignKeyConstraint(['account_id'], ['credit_accounts.id'], name=op.f('fk_auto_top_ups_account_id_credit_accounts')),
        sa.ForeignKeyConstraint(['pack_id'], ['credit_packs.id'], name=op.f('fk_auto_top_ups_pack_id_credit_packs')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auto_top_ups_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auto_top_ups')),
        sa.UniqueConstraint('account_id', name=op.f('uq_auto_top_ups_account_id')),
        sa.UniqueConstraint('setup_session_id', name=op.f('uq_auto_top_ups_setup_session_id')),
    )
    op.create_index(op.f('ix_auto_top_ups_pack_id'), 'auto_top_ups', ['pack_id'], unique=False)
    op.create_index(op.f('ix_auto_top_ups_user_id'), 'auto_top_ups', ['user_id'], unique=False)
    op.add_column('payments', sa.Column('kind', sa.String(length=20), server_default='pack', nullable=False))
    op.add_column('payments', sa.Column('claimed_until', sa.DateTime(), nullable=True))
    op.add_column('payments', sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('payments', sa.Column('failure_code', sa.String(length=50), nullable=True))


def downgrade():
    for name in ('failure_code', 'attempts', 'claimed_until', 'kind'):
        op.drop_column('payments', name)
    op.drop_index(op.f('ix_auto_top_ups_user_id'), table_name='auto_top_ups')
    op.drop_index(op.f('ix_auto_top_ups_pack_id'), table_name='auto_top_ups')
    op.drop_table('auto_top_ups')
    op.drop_index(op.f('ix_subscription_invoices_subscription_id'), table_name='subscription_invoices')
    op.drop_index(op.f('ix_subscription_invoices_stripe_subscription_id'), table_name='subscription_invoices')
    op.drop_table('subscription_invoices')
    op.drop_index('ix_plan_subscriptions_status_ends_at', table_name='plan_subscriptions')
    op.drop_index(op.f('ix_plan_subscriptions_stripe_customer_id'), table_name='plan_subscriptions')
    op.drop_index(op.f('ix_plan_subscriptions_user_id'), table_name='plan_subscriptions')
    op.drop_index(op.f('ix_plan_subscriptions_account_id'), table_name='plan_subscriptions')
    op.drop_table('plan_subscriptions')
    op.drop_table('plan_prices')
    op.drop_column('credit_accounts', 'allowance_invoiced')
