"""In-app notices (a paid ticket at risk, ...), read or unread, per user.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_notices_ticket_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notices_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    )
    op.create_index('ix_notices_user_read', 'notices', ['user_id', 'read_at', 'id'], unique=False)
    op.create_index(op.f('ix_notices_ticket_id'), 'notices', ['ticket_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_notices_ticket_id'), table_name='notices')
    op.drop_index('ix_notices_user_read', table_name='notices')
    op.drop_table('notices')
