"""Messages and ticket descriptions keep their rendered HTML (issue 19: every render cheap).

The ticket page rendered every message's Markdown and sanitised it on every view (~10 % of the
page's CPU with four messages, more on a long thread). The HTML is now made once, when the text
is written (tickets.models.stored_html_of), and kept in `body_html`. Rows written before this
revision keep NULL and are rendered on view as before until `flask tickets render-bodies` fills
them in (it is safe to run at any time, and again after an upgrade of Markdown or nh3).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite adds and drops a column in place since 3.35): a
# batch-mode copy of the table would break the search triggers that name it.


def upgrade():
    for table in ('tickets', 'messages'):
        op.add_column(table, sa.Column('body_html', sa.Text(), nullable=True))


def downgrade():
    for table in ('tickets', 'messages'):
        op.drop_column(table, 'body_html')
