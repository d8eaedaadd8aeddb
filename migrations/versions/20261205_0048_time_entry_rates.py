"""A time entry keeps the rate it was priced at: a later edit no longer re-prices it at today's rate.

An edit charged the entry's minutes at the plan's current rate, less what it had been charged:
a note-only edit after the rate went from 1 to 2 credits a minute charged the whole entry again,
and an entry logged while the bank's plan did not bill time was charged in full once the bank
moved to a time plan. An entry is now priced once, when it is logged or its timer stopped
(credits.time_entries._price), and corrections move only the difference in minutes at that rate.

Existing stopped entries are backfilled: 0 when no bank was ever charged for them (no account,
that is the plan did not bill time); else what the bank was last charged divided by the minutes
charged (the latest revision that booked a ledger entry), and when nothing was charged (an entry
the bank could not cover, or one deleted and refunded) the current rate of the bank's plan.
Running timers keep NULL: they are priced when stopped.

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


revision = '0048'
down_revision = '0047'
branch_labels = None
depends_on = None


def _rate(bind, entry_id, account_id, billed):
    if account_id is None:
        return 0
    charged = bind.execute(
        sa.text(
            "SELECT new_minutes FROM time_entry_revisions"
            " WHERE entry_id = :id AND ledger_entry_id IS NOT NULL ORDER BY id DESC LIMIT 1"
        ),
        {"id": entry_id},
    ).scalar()
    if billed > 0 and charged:
        return max(1, round(billed / charged))
    plan_rate = bind.execute(
        sa.text(
            "SELECT service_plans.minute_rate FROM credit_accounts"
            " JOIN service_plans ON service_plans.id = credit_accounts.plan_id"
            " WHERE credit_accounts.id = :account_id"
        ),
        {"account_id": account_id},
    ).scalar()
    return plan_rate or 1


def upgrade():
    op.add_column('time_entries', sa.Column('minute_rate', sa.Integer(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, account_id, billed FROM time_entries WHERE minutes IS NOT NULL OR deleted_at IS NOT NULL")
    ).all()
    for entry_id, account_id, billed in rows:
        bind.execute(
            sa.text("UPDATE time_entries SET minute_rate = :rate WHERE id = :id"),
            {"rate": _rate(bind, entry_id, account_id, billed or 0), "id": entry_id},
        )


def downgrade():
    op.drop_column('time_entries', 'minute_rate')
