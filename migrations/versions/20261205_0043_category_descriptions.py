"""Categories carry a short description: what belongs there, shown to whoever files a ticket.

A new ticket's category is chosen, not defaulted (see docs/decisions.md): a customer who does not
know whether a broken invoice link is "IT" or "Billing" reads what each one covers beside the
list. Empty for existing categories (nothing is shown until an admin writes one).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite adds and, since 3.35, drops a column in place): a
# batch operation would copy the table and lose its expression index (uq_categories_lower_name).
def upgrade():
    op.add_column('categories', sa.Column('description', sa.String(length=200), nullable=False, server_default=''))


def downgrade():
    op.drop_column('categories', 'description')
