"""A ticket's conversation is read in time order (created_at, then id), not by id alone: a
duplicate's messages merged into a ticket keep their times, and its description, made a message
by the merge, gets the newest id, so by id it showed after its own replies. The index on the
ticket alone becomes one on (ticket, time, id): the page's window of the latest messages reads it
backwards, without sorting the conversation (the ticket alone is still its first column, for the
foreign key).

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-05

"""
from alembic import op


revision = '0054'
down_revision = '0053'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_messages_ticket_time', 'messages', ['ticket_id', 'created_at', 'id'], unique=False)
    op.drop_index('ix_messages_ticket_id', table_name='messages')


def downgrade():
    op.create_index('ix_messages_ticket_id', 'messages', ['ticket_id'], unique=False)
    op.drop_index('ix_messages_ticket_time', table_name='messages')
