""""Needs attention" without walking every unanswered ticket (issue 19).

The queue's default order puts paid, unanswered tickets at risk first. That group walked the
index of all unanswered tickets by reply-by time, reading each row to test it; on a desk keeping
its promises (no paid ticket at risk) it read all of them before finding none: 3 ms of SQL for
4,000 unanswered tickets on the bench desk, 0.3 ms with an index of the paid ones (PostgreSQL:
6.8 -> 1.6 ms). The index of all unanswered tickets also carries what the next group tests
(category, paid, at risk), so it skips the paid tickets at risk without reading their rows.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

UNANSWERED = "status IN ('new', 'open', 'waiting') AND first_response_at IS NULL"


def _partial(where):
    return {'sqlite_where': sa.text(where), 'postgresql_where': sa.text(where)}


def upgrade():
    op.create_index(
        'ix_tickets_active_unanswered_paid_due', 'tickets', ['due_at', 'id'],
        unique=False, **_partial(f"{UNANSWERED} AND paid_credits > 0"),
    )
    op.drop_index('ix_tickets_active_unanswered_due', table_name='tickets')
    op.create_index(
        'ix_tickets_active_unanswered_due', 'tickets',
        ['due_at', 'id', 'category_id', 'paid_credits', 'response_warn_at'],
        unique=False, **_partial(UNANSWERED),
    )


def downgrade():
    op.drop_index('ix_tickets_active_unanswered_due', table_name='tickets')
    op.create_index(
        'ix_tickets_active_unanswered_due', 'tickets', ['due_at', 'id'], unique=False, **_partial(UNANSWERED)
    )
    op.drop_index('ix_tickets_active_unanswered_paid_due', table_name='tickets')
