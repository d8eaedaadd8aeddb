"""The reports' period read through indexes: tickets by when they were opened and when resolved.
Every table of the agents' report read the whole tickets table to pick a month's tickets (on the
100,000-ticket bench desk, 8 statements of 60-90 ms: the page took 0.8 s; with these, 0.3 s).

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-05

"""
from alembic import op


revision = '0051'
down_revision = '0050'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_tickets_created', 'tickets', ['created_at'], unique=False)
    op.create_index('ix_tickets_resolved', 'tickets', ['resolved_at'], unique=False)


def downgrade():
    op.drop_index('ix_tickets_resolved', table_name='tickets')
    op.drop_index('ix_tickets_created', table_name='tickets')
