"""credit service: low-balance stages, credit alerts, time entries, settings audit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 00:00:13.145955

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed by hand after autogenerate.
    op.create_table('low_balance_thresholds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('basis', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.CheckConstraint("basis IN ('topup_percent', 'cheapest_paid', 'fixed')", name=op.f('ck_low_balance_thresholds_basis_valid')),
    sa.ForeignKeyConstraint(['plan_id'], ['service_plans.id'], name=op.f('fk_low_balance_thresholds_plan_id_service_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_low_balance_thresholds')),
    sa.UniqueConstraint('plan_id', 'position', name=op.f('uq_low_balance_thresholds_plan_id_position'))
    )
    op.create_table('credit_setting_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=50), nullable=False),
    sa.Column('old_value', sa.String(length=400), nullable=True),
    sa.Column('new_value', sa.String(length=400), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_credit_setting_changes_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_setting_changes'))
    )
    op.create_table('credit_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('acknowledged', sa.Boolean(), nullable=False),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('low_balance', 'unbilled_time', 'sla_refund')", name=op.f('ck_credit_alerts_kind_valid')),
    sa.ForeignKeyConstraint(['account_id'], ['credit_accounts.id'], name=op.f('fk_credit_alerts_account_id_credit_accounts')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_credit_alerts_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_alerts'))
    )
    with op.batch_alter_table('credit_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_credit_alerts_account_open', ['account_id', 'acknowledged'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_alerts_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('time_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('billed', sa.Integer(), nullable=False),
    sa.Column('unbilled', sa.Boolean(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('minutes IS NULL OR minutes >= 0', name=op.f('ck_time_entries_minutes_not_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['credit_accounts.id'], name=op.f('fk_time_entries_account_id_credit_accounts')),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_time_entries_agent_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_time_entries_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_entries'))
    )
    with op.batch_alter_table('time_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_time_entries_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_time_entries_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_time_entries_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('time_entry_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('old_minutes', sa.Integer(), nullable=True),
    sa.Column('new_minutes', sa.Integer(), nullable=True),
    sa.Column('old_note', sa.String(length=500), nullable=True),
    sa.Column('new_note', sa.String(length=500), nullable=True),
    sa.Column('ledger_entry_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_time_entry_revisions_actor_id_users')),
    sa.ForeignKeyConstraint(['entry_id'], ['time_entries.id'], name=op.f('fk_time_entry_revisions_entry_id_time_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ledger_entry_id'], ['ledger_entries.id'], name=op.f('fk_time_entry_revisions_ledger_entry_id_ledger_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_time_entry_revisions'))
    )
    with op.batch_alter_table('time_entry_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_time_entry_revisions_entry_id'), ['entry_id'], unique=False)

    with op.batch_alter_table('credit_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_topup', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('low_stage', sa.Integer(), nullable=False, server_default='0'))

    # Credit plans that exist already get the default low-balance stages: 25% of the last top-up,
    # the cost of the cheapest paid priority (not in time mode), then zero.
    for position, basis, value, extra in (
        (1, 'topup_percent', 25, ''),
        (2, 'cheapest_paid', 0, " AND billing_mode = 'priority'"),
        (3, 'fixed', 0, ''),
    ):
        op.execute(
            "INSERT INTO low_balance_thresholds (plan_id, position, basis, value) "
            f"SELECT id, {position}, '{basis}', {value} FROM service_plans WHERE credits_enabled = TRUE{extra}"
        )


def downgrade():
    # Reviewed by hand after autogenerate.
    with op.batch_alter_table('credit_accounts', schema=None) as batch_op:
        batch_op.drop_column('low_stage')
        batch_op.drop_column('last_topup')

    with op.batch_alter_table('time_entry_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_time_entry_revisions_entry_id'))

    op.drop_table('time_entry_revisions')
    with op.batch_alter_table('time_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_time_entries_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_time_entries_agent_id'))
        batch_op.drop_index(batch_op.f('ix_time_entries_account_id'))

    op.drop_table('time_entries')
    with op.batch_alter_table('credit_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_alerts_ticket_id'))
        batch_op.drop_index('ix_credit_alerts_account_open')

    op.drop_table('credit_alerts')
    op.drop_table('credit_setting_changes')
    op.drop_table('low_balance_thresholds')
