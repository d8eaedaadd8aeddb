"""Mail identity: automatic mails counted per address and hour (and kept unsent over the limit),
inbound mail held as unverified with what the MTA said and who reviewed it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

"""
import warnings
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('queued', 'sent', 'failed', 'devbox')"
NEW_STATUSES = "status IN ('queued', 'sent', 'failed', 'devbox', 'suppressed')"


@contextmanager
def batch(table):
    """Batch mode: SQLite rebuilds the table (a CHECK constraint or a foreign key cannot be added
    in place), PostgreSQL runs plain ALTER TABLE statements. Rebuilding reflects the tables the
    foreign keys lead to, whose lower(name) indexes SQLite cannot reflect (and need not: only
    this table is rebuilt), so that warning is expected here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table(table, schema=None) as batch_op:
            yield batch_op


def upgrade():
    with batch('outbox_messages') as batch_op:
        batch_op.add_column(sa.Column('automatic', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_constraint(op.f('ck_outbox_messages_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_status_valid'), NEW_STATUSES)

    with batch('inbound_mail') as batch_op:
        batch_op.add_column(sa.Column('auth_result', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            op.f('fk_inbound_mail_reviewed_by_id_users'), 'users', ['reviewed_by_id'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_index('ix_inbound_mail_outcome_id', ['outcome', 'id'], unique=False)


def downgrade():
    with batch('inbound_mail') as batch_op:
        batch_op.drop_index('ix_inbound_mail_outcome_id')
        batch_op.drop_constraint(op.f('fk_inbound_mail_reviewed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_by_id')
        batch_op.drop_column('auth_result')

    # Mail kept unsent over the limit has no status before this revision: it stays unsent, as failed.
    op.execute("UPDATE outbox_messages SET status = 'failed' WHERE status = 'suppressed'")
    with batch('outbox_messages') as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_status_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_status_valid'), OLD_STATUSES)
        batch_op.drop_column('automatic')
