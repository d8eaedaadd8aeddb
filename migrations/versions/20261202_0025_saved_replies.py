"""Saved replies: shared per category or personal, with their use counts.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa



revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saved_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('use_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint('(category_id IS NULL) <> (owner_id IS NULL)', name=op.f('ck_saved_replies_shared_or_personal')),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_saved_replies_category_id_categories')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_saved_replies_created_by_id_users')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_saved_replies_owner_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_replies')),
    )
    op.create_index('ix_saved_replies_category', 'saved_replies', ['category_id'], unique=False)
    op.create_index('ix_saved_replies_owner', 'saved_replies', ['owner_id'], unique=False)


def downgrade():
    op.drop_index('ix_saved_replies_owner', table_name='saved_replies')
    op.drop_index('ix_saved_replies_category', table_name='saved_replies')
    op.drop_table('saved_replies')
