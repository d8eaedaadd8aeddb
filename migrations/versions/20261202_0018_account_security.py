"""Account security: confirmed addresses, the newest reset link only, two factors (TOTP and recovery
codes) and atomic throttling counters, which replace the login_failures rows counted with COUNT.

Existing accounts count as confirmed (their addresses were never asked to be).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('email_confirmed_at', sa.DateTime(), nullable=True))
    op.add_column('users', sa.Column('reset_serial', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('users', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    op.add_column('users', sa.Column('totp_enabled_at', sa.DateTime(), nullable=True))
    op.add_column('users', sa.Column('totp_last_step', sa.Integer(), nullable=True))
    users = sa.table('users', sa.column('email_confirmed_at', sa.DateTime()), sa.column('created_at', sa.DateTime()))
    op.execute(users.update().values(email_confirmed_at=users.c.created_at))

    op.create_table(
        'throttles',
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('window_start', sa.DateTime(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_throttles')),
    )
    op.create_index(op.f('ix_throttles_window_start'), 'throttles', ['window_start'], unique=False)
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    )
    op.create_index(op.f('ix_recovery_codes_user_id'), 'recovery_codes', ['user_id'], unique=False)

    op.drop_index('ix_login_failures_key_at', table_name='login_failures')
    op.drop_table('login_failures')


def downgrade():
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures')),
    )
    op.create_index('ix_login_failures_key_at', 'login_failures', ['key', 'at'], unique=False)
    op.drop_index(op.f('ix_recovery_codes_user_id'), table_name='recovery_codes')
    op.drop_table('recovery_codes')
    op.drop_index(op.f('ix_throttles_window_start'), table_name='throttles')
    op.drop_table('throttles')
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+ has it): no table rebuild.
    op.drop_column('users', 'totp_last_step')
    op.drop_column('users', 'totp_enabled_at')
    op.drop_column('users', 'totp_secret')
    op.drop_column('users', 'reset_serial')
    op.drop_column('users', 'email_confirmed_at')
