"""A time entry logged by hand keeps the key of the form that logged it: a resent form adds nothing.

"Log time" made a new entry (and charged the bank) on every POST, so a form sent twice (a double
click without JavaScript, back and resubmit) charged a time-billed bank twice. The form now
carries a submission key made when it is shown; the entry keeps a digest of that key and of what
it logged (credits.time_entries.log_time), unique per agent. Existing entries and timers have none
(NULL: never equal to another).

A unique index rather than a constraint, on both databases: SQLite adds an index in place, and
a constraint only by copying the table.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


revision = '0045'
down_revision = '0044'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('time_entries', sa.Column('submission_key', sa.String(length=64), nullable=True))
    op.create_index(
        'uq_time_entries_agent_submission_key', 'time_entries', ['agent_id', 'submission_key'], unique=True
    )


def downgrade():
    op.drop_index('uq_time_entries_agent_submission_key', table_name='time_entries')
    op.drop_column('time_entries', 'submission_key')
