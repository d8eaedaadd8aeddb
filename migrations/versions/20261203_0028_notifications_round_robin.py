"""Agents' notifications and round-robin assignment (issue 16 items 7 and 8): mail preferences per
kind of notice, agents' availability (round-robin opt-in, away), round-robin categories with their
turn's pointer. New tables only.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notice_preferences',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('mail', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_preferences_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notice_preferences')),
    )
    op.create_table(
        'agent_availability',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('round_robin', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('away', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_availability_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_availability')),
    )
    op.create_table(
        'round_robin_categories',
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('last_user_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_round_robin_categories_category_id_categories'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['last_user_id'], ['users.id'], name=op.f('fk_round_robin_categories_last_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('category_id', name=op.f('pk_round_robin_categories')),
    )


def downgrade():
    op.drop_table('round_robin_categories')
    op.drop_table('agent_availability')
    op.drop_table('notice_preferences')
