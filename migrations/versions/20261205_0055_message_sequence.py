"""Each message's place in its ticket's feed (messages.sequence), for the API's after_sequence
cursor: an API client polling a ticket's messages by id never saw the messages a merge moved in
(their ids are older than what it had read). A message gets the next number of its ticket when it
is written or moved there, committed in that order (tickets.models.next_sequence). The messages
written before number as their ids did.

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-05

"""
import sqlalchemy as sa
from alembic import op


revision = '0055'
down_revision = '0054'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('messages', sa.Column('sequence', sa.Integer(), nullable=True))
    op.execute('UPDATE messages SET sequence = id')
    op.create_index('uq_messages_ticket_sequence', 'messages', ['ticket_id', 'sequence'], unique=True)


def downgrade():
    op.drop_index('uq_messages_ticket_sequence', table_name='messages')
    op.drop_column('messages', 'sequence')
