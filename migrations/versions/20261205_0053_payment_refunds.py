"""Card refunds kept one row each, with when: the revenue report books a refund in its month.

Stripe reports a charge's refunds as a running total, and a payment kept only that total and
the time of the latest: a 30.00 refund in December and 70.00 more in January showed December 0
and January 100, rewriting a closed month. Each rise of the total is now a row. A payment refunded
before this migration becomes one row, its whole refund at the latest refund's time (what the
report showed until now: the steps were not kept).

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa



revision = '0053'
down_revision = '0052'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payment_refunds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('payment_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
        sa.Column('refunded_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('amount > 0', name=op.f('ck_payment_refunds_amount_positive')),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_refunds_payment_id_payments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_refunds')),
    )
    with op.batch_alter_table('payment_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_refunds_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_refunds_refunded_at'), ['refunded_at'], unique=False)
    op.execute(
        "INSERT INTO payment_refunds (payment_id, amount, refunded_at) "
        "SELECT id, amount_refunded, coalesce(refunded_at, updated_at) FROM payments WHERE amount_refunded > 0"
    )


def downgrade():
    with op.batch_alter_table('payment_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_refunds_refunded_at'))
        batch_op.drop_index(batch_op.f('ix_payment_refunds_payment_id'))
    op.drop_table('payment_refunds')
