"""Card charges and disputes: what Stripe reports about a charge, kept whatever the order of events.

- card_charges: per payment intent, the highest cumulative refund and the payment it belongs to
  (unknown while a refund arrives before the checkout completes);
- card_disputes: each dispute of a charge, with when its funds were withdrawn, reinstated and when
  it closed;
- billing_alerts.reference: the Stripe object an alert is about while no payment matches it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'card_charges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('payment_intent_id', sa.String(length=255), nullable=False),
        sa.Column('charge_id', sa.String(length=255), nullable=True),
        sa.Column('payment_id', sa.Integer(), nullable=True),
        sa.Column('amount_refunded', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('amount_refunded >= 0', name=op.f('ck_card_charges_refunded_not_negative')),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_card_charges_payment_id_payments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_card_charges')),
        sa.UniqueConstraint('payment_intent_id', name=op.f('uq_card_charges_payment_intent_id')),
    )
    op.create_index(op.f('ix_card_charges_payment_id'), 'card_charges', ['payment_id'], unique=False)
    op.create_table(
        'card_disputes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dispute_id', sa.String(length=255), nullable=False),
        sa.Column('card_charge_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('reason', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=50), nullable=False),
        sa.Column('funds_withdrawn_at', sa.DateTime(), nullable=True),
        sa.Column('funds_reinstated_at', sa.DateTime(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('amount >= 0', name=op.f('ck_card_disputes_amount_not_negative')),
        sa.ForeignKeyConstraint(['card_charge_id'], ['card_charges.id'], name=op.f('fk_card_disputes_card_charge_id_card_charges')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_card_disputes')),
        sa.UniqueConstraint('dispute_id', name=op.f('uq_card_disputes_dispute_id')),
    )
    op.create_index(op.f('ix_card_disputes_card_charge_id'), 'card_disputes', ['card_charge_id'], unique=False)
    op.add_column('billing_alerts', sa.Column('reference', sa.String(length=255), nullable=True))
    op.create_index(op.f('ix_billing_alerts_reference'), 'billing_alerts', ['reference'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_billing_alerts_reference'), table_name='billing_alerts')
    op.drop_column('billing_alerts', 'reference')
    op.drop_index(op.f('ix_card_disputes_card_charge_id'), table_name='card_disputes')
    op.drop_table('card_disputes')
    op.drop_index(op.f('ix_card_charges_payment_id'), table_name='card_charges')
    op.drop_table('card_charges')
