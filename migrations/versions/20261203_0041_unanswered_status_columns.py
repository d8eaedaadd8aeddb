""""Waiting on customer" and the other one-status pages of "Needs attention" (issue 19).

Asked for one open status, the unanswered groups of "Needs attention" walked the indexes of the
unanswered tickets and read each ticket's row for its status: on the bench desk every unanswered
ticket is new, so a page of waiting or open tickets read all 4,059 of them (4.6-5.0 ms of SQL on
SQLite, 5-7.6 ms on PostgreSQL). Those indexes now carry the status (and the paid tickets' one the
columns its group tests), and are skipped through without reading a row.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None

UNANSWERED = "status IN ('new', 'open', 'waiting') AND first_response_at IS NULL"
PAID = f"{UNANSWERED} AND paid_credits > 0"
INDEXES = (
    # (name, columns now, columns before, condition)
    (
        'ix_tickets_active_unanswered_due',
        ['due_at', 'id', 'category_id', 'paid_credits', 'response_warn_at', 'status'],
        ['due_at', 'id', 'category_id', 'paid_credits', 'response_warn_at'],
        UNANSWERED,
    ),
    (
        'ix_tickets_active_unanswered_paid_due',
        ['due_at', 'id', 'category_id', 'response_warn_at', 'status'],
        ['due_at', 'id'],
        PAID,
    ),
)


def _replace(name, columns, where):
    op.drop_index(name, table_name='tickets')
    op.create_index(
        name, 'tickets', columns, unique=False, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
    )


def upgrade():
    for name, columns, _before, where in INDEXES:
        _replace(name, columns, where)


def downgrade():
    for name, _columns, before, where in INDEXES:
        _replace(name, before, where)
