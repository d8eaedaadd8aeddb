"""Partial indexes of one agent's active tickets in the queue's orders (issue 19).

The console's "Mine" and "Unassigned" views filter the queue by assignee: SQLite read every
active ticket of that agent through the console's count index and sorted them (12 ms of SQL for
an agent with 10,000 active tickets on the 100,000-ticket bench desk). With these, each branch of
"Needs attention" seeks the agent and walks a page in order.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('new', 'open', 'waiting')"
INDEXES = (
    ('ix_tickets_active_assignee_updated', ['assignee_id', 'updated_at', 'id'], ACTIVE),
    (
        'ix_tickets_active_assignee_unanswered_due',
        ['assignee_id', 'due_at', 'id'],
        f"{ACTIVE} AND first_response_at IS NULL",
    ),
)


def upgrade():
    for name, columns, where in INDEXES:
        op.create_index(
            name, 'tickets', columns, unique=False,
            sqlite_where=sa.text(where), postgresql_where=sa.text(where),
        )


def downgrade():
    for name, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name='tickets')
