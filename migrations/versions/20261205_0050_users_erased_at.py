"""When a customer's personal data was erased (GDPR right to erasure): set once, by
accounts.erasure.erase_customer, on an account that is then deactivated and anonymised for good.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


revision = '0050'
down_revision = '0049'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('erased_at', sa.DateTime(), nullable=True))


def downgrade():
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+ has it): no table rebuild.
    op.drop_column('users', 'erased_at')
