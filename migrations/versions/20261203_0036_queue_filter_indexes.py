"""Indexes of the queue filtered by one status or one assignee, in each of its orders (issue 19).

The console's status and assignee filters over every status ("my tickets, all statuses, latest
first", "waiting, by priority") read every ticket of that agent or status and sorted them: 35 to
250 ms of SQL on the 100,000-ticket bench desk, on both databases. With these, each order seeks
the filter and walks one page. They lead with the columns of the one-column indexes they replace
(ix_tickets_status, ix_tickets_assignee_id), which therefore go. An agent's active tickets have
their own (their closed ones come first by due time), as "Mine" has had since 0034.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('new', 'open', 'waiting')"
INDEXES = (
    ('ix_tickets_active_assignee_due', ['assignee_id', 'due_at', 'id'], ACTIVE),
    ('ix_tickets_active_assignee_priority_due', ['assignee_id', 'priority_id', 'due_at', 'id'], ACTIVE),
    ('ix_tickets_assignee_due', ['assignee_id', 'due_at', 'id'], None),
    ('ix_tickets_assignee_updated', ['assignee_id', 'updated_at', 'id'], None),
    ('ix_tickets_assignee_priority_due', ['assignee_id', 'priority_id', 'due_at', 'id'], None),
    ('ix_tickets_status_due', ['status', 'due_at', 'id'], None),
    ('ix_tickets_status_updated', ['status', 'updated_at', 'id'], None),
    ('ix_tickets_status_priority_due', ['status', 'priority_id', 'due_at', 'id'], None),
)
REPLACED = (('ix_tickets_assignee_id', ['assignee_id']), ('ix_tickets_status', ['status']))


def upgrade():
    for name, columns, where in INDEXES:
        partial = {'sqlite_where': sa.text(where), 'postgresql_where': sa.text(where)} if where else {}
        op.create_index(name, 'tickets', columns, unique=False, **partial)
    for name, _columns in REPLACED:
        op.drop_index(name, table_name='tickets')


def downgrade():
    for name, columns in REPLACED:
        op.create_index(name, 'tickets', columns, unique=False)
    for name, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name='tickets')
