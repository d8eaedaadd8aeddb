"""An index on the Idempotency-Key answers' creation time, so `flask api prune-idempotency`
deletes the old ones without reading the whole table.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-03

"""
from alembic import op


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_api_idempotent_requests_created_at', 'api_idempotent_requests', ['created_at'])


def downgrade():
    op.drop_index('ix_api_idempotent_requests_created_at', table_name='api_idempotent_requests')
