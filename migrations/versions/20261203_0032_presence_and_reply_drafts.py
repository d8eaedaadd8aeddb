"""Presence on ticket pages and agents' reply drafts, kept in the database (issue 16 item 6): one
row per ticket and agent in each, with an expiry, so several app servers share them.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ticket_presence',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.Column('writing_until', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_presence_ticket_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_presence_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id', 'user_id', name=op.f('pk_ticket_presence')),
    )
    op.create_index(op.f('ix_ticket_presence_expires_at'), 'ticket_presence', ['expires_at'], unique=False)
    op.create_table(
        'reply_drafts',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('submission_key', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_reply_drafts_ticket_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reply_drafts_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id', 'user_id', name=op.f('pk_reply_drafts')),
    )
    op.create_index(op.f('ix_reply_drafts_expires_at'), 'reply_drafts', ['expires_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_reply_drafts_expires_at'), table_name='reply_drafts')
    op.drop_table('reply_drafts')
    op.drop_index(op.f('ix_ticket_presence_expires_at'), table_name='ticket_presence')
    op.drop_table('ticket_presence')
