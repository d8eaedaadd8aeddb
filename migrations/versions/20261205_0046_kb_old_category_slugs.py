"""A renamed category's old knowledge-base address redirects to its new one.

Renaming "Sales" to "Pre-sales" moved its articles' addresses, which redirect (their old slugs:
kb_old_slugs), but /kb/sales/ itself answered 404: bookmarks and links to the category broke, and
a later category named "Sales" would have taken the address over silently. The old slug is kept
here when a category is renamed (kb.reading.on_category_renamed); a current category's slug
always wins over an old one.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


revision = '0046'
down_revision = '0045'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kb_old_category_slugs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=120), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['category_id'], ['categories.id'],
            name=op.f('fk_kb_old_category_slugs_category_id_categories'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_old_category_slugs')),
        sa.UniqueConstraint('slug', name=op.f('uq_kb_old_category_slugs_slug')),
    )
    op.create_index(
        op.f('ix_kb_old_category_slugs_category_id'), 'kb_old_category_slugs', ['category_id'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_kb_old_category_slugs_category_id'), table_name='kb_old_category_slugs')
    op.drop_table('kb_old_category_slugs')
