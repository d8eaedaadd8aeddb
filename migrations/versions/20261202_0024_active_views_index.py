"""A partial covering index of the active tickets for the agent console's view counts (issue 17):
the sidebar's counts (Needs attention, Mine, Unassigned, Waiting on customer, At risk) are one
aggregate over the viewer's active tickets that reads only this index, never the table.

The condition is written out here and in tickets.views_builtin.ACTIVE word for word, so that the
database can prove the counting query matches it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

WHERE = "status IN ('new', 'open', 'waiting')"
COLUMNS = [
    'category_id',
    'status',
    'assignee_id',
    'first_response_at',
    'response_warn_at',
    'due_at',
    'resolution_warn_at',
    'resolution_due_at',
]


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(
            'ix_tickets_active_views',
            COLUMNS,
            unique=False,
            sqlite_where=sa.text(WHERE),
            postgresql_where=sa.text(WHERE),
        )


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_active_views')
