"""audit_events: history of role changes, deactivations, category permissions and categories

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('target_user_id', sa.Integer(), nullable=True),
        sa.Column('category_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('old_value', sa.String(length=200), nullable=True),
        sa.Column('new_value', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users')),
        sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_audit_events_category_id_categories')),
        sa.ForeignKeyConstraint(['target_user_id'], ['users.id'], name=op.f('fk_audit_events_target_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_actor_created', ['actor_id', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_events_category_created', ['category_id', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_events_target_user_created', ['target_user_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_target_user_created')
        batch_op.drop_index('ix_audit_events_category_created')
        batch_op.drop_index('ix_audit_events_actor_created')
    op.drop_table('audit_events')
