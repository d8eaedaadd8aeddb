"""Ticket drafts: a new-ticket form kept for a day while its author buys credits, switches plan
or asks a manager, and given back afterwards (its files stay staged under its submission key).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ticket_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('submission_key', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('priority_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_drafts')),
        sa.UniqueConstraint('user_id', 'submission_key', name=op.f('uq_ticket_drafts_user_id_submission_key')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_drafts_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_ticket_drafts_category_id_categories'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['priority_id'], ['priorities.id'], name=op.f('fk_ticket_drafts_priority_id_priorities'), ondelete='SET NULL'),
    )
    op.create_index(op.f('ix_ticket_drafts_expires_at'), 'ticket_drafts', ['expires_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_ticket_drafts_expires_at'), table_name='ticket_drafts')
    op.drop_table('ticket_drafts')
