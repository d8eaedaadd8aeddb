""""Mine" and "Unassigned": their answered tickets by latest update (issue 19).

The last group of "Needs attention" (answered tickets without a resolve-by time, and waiting
ones, latest update first) walked the index of all of an agent's active tickets. For "Unassigned"
that meant every unanswered unassigned ticket before an answered one, and PostgreSQL, which takes
"unassigned" and "answered" for independent, expected to find a page at once: 5 ms of the page's
6.4 on the bench desk (4,059 unassigned tickets, none answered). This index holds the answered
active tickets only. The index of an agent's unanswered tickets carries what the unanswered groups
test (category, paid, at risk), as the index of all unanswered tickets does since 0039: without it
PostgreSQL preferred that one for "Mine" and "Unassigned" and read every row it skipped.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('new', 'open', 'waiting')"
ANSWERED = f"{ACTIVE} AND first_response_at IS NOT NULL"
UNANSWERED = f"{ACTIVE} AND first_response_at IS NULL"


def _partial(where):
    return {'sqlite_where': sa.text(where), 'postgresql_where': sa.text(where)}


def upgrade():
    op.create_index(
        'ix_tickets_active_answered_assignee_updated', 'tickets', ['assignee_id', 'updated_at', 'id'],
        unique=False, **_partial(ANSWERED),
    )
    op.drop_index('ix_tickets_active_assignee_unanswered_due', table_name='tickets')
    op.create_index(
        'ix_tickets_active_assignee_unanswered_due', 'tickets',
        ['assignee_id', 'due_at', 'id', 'category_id', 'paid_credits', 'response_warn_at'],
        unique=False, **_partial(UNANSWERED),
    )


def downgrade():
    op.drop_index('ix_tickets_active_assignee_unanswered_due', table_name='tickets')
    op.create_index(
        'ix_tickets_active_assignee_unanswered_due', 'tickets', ['assignee_id', 'due_at', 'id'],
        unique=False, **_partial(UNANSWERED),
    )
    op.drop_index('ix_tickets_active_answered_assignee_updated', table_name='tickets')
