"""billing

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 23:54:03.423197

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand after autogenerate.
    op.create_table('credit_packs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('price', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('credits > 0', name=op.f('ck_credit_packs_credits_positive')),
    sa.CheckConstraint('price > 0', name=op.f('ck_credit_packs_price_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_packs')),
    sa.UniqueConstraint('name', name=op.f('uq_credit_packs_name'))
    )
    op.create_table('stripe_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_stripe_events_event_id'))
    )
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('pack_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stripe_session_id', sa.String(length=255), nullable=True),
    sa.Column('checkout_url', sa.Text(), nullable=True),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('charge_id', sa.String(length=255), nullable=True),
    sa.Column('amount_refunded', sa.Integer(), nullable=False),
    sa.Column('credits_reversed', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('link_email_to', sa.String(length=320), nullable=True),
    sa.Column('link_email_status', sa.String(length=20), nullable=True),
    sa.Column('credited_at', sa.DateTime(), nullable=True),
    sa.Column('refunded_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'paid', 'failed', 'refunded', 'partially_refunded', 'expired')", name=op.f('ck_payments_status_valid')),
    sa.CheckConstraint('amount_refunded >= 0 AND credits_reversed >= 0', name=op.f('ck_payments_refunds_not_negative')),
    sa.CheckConstraint('credits > 0 AND amount > 0', name=op.f('ck_payments_amounts_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['credit_accounts.id'], name=op.f('fk_payments_account_id_credit_accounts')),
    sa.ForeignKeyConstraint(['pack_id'], ['credit_packs.id'], name=op.f('fk_payments_pack_id_credit_packs')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_payments_started_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payments_idempotency_key')),
    sa.UniqueConstraint('stripe_session_id', name=op.f('uq_payments_stripe_session_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_pack_id'), ['pack_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_payment_intent_id'), ['payment_intent_id'], unique=False)
        batch_op.create_index('ix_payments_status_id', ['status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_user_id'), ['user_id'], unique=False)

    op.create_table('billing_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['credit_accounts.id'], name=op.f('fk_billing_alerts_account_id_credit_accounts')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_billing_alerts_payment_id_payments')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_billing_alerts_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_alerts'))
    )
    with op.batch_alter_table('billing_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_alerts_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_alerts_resolved_at'), ['resolved_at'], unique=False)



def downgrade():
    # Reviewed by hand after autogenerate.
    with op.batch_alter_table('billing_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_alerts_resolved_at'))
        batch_op.drop_index(batch_op.f('ix_billing_alerts_payment_id'))

    op.drop_table('billing_alerts')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_user_id'))
        batch_op.drop_index('ix_payments_status_id')
        batch_op.drop_index(batch_op.f('ix_payments_payment_intent_id'))
        batch_op.drop_index(batch_op.f('ix_payments_pack_id'))
        batch_op.drop_index(batch_op.f('ix_payments_charge_id'))
        batch_op.drop_index(batch_op.f('ix_payments_account_id'))

    op.drop_table('payments')
    op.drop_table('stripe_events')
    op.drop_table('credit_packs')
