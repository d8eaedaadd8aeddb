"""The desk's branding (issue 17): one settings row with its name, accent colour and logo.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'desk_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=True),
        sa.Column('accent', sa.String(length=7), nullable=True),
        sa.Column('logo_id', sa.Integer(), nullable=True),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['logo_id'], ['attachments.id'], name=op.f('fk_desk_settings_logo_id_attachments'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_desk_settings_changed_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_settings')),
    )


def downgrade():
    op.drop_table('desk_settings')
