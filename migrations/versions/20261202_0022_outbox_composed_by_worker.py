"""Outbox rows keep what their mail says (template and context) and are composed by the worker:
bodies may be empty until then.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02

"""
import warnings
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


@contextmanager
def batch(table):
    """Batch mode: SQLite rebuilds the table (a column cannot become nullable in place),
    PostgreSQL runs plain ALTER TABLE statements. Rebuilding reflects the tables the foreign keys
    lead to, whose lower(name) indexes SQLite cannot reflect (and need not), so that warning is
    expected here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table(table, schema=None) as batch_op:
            yield batch_op


def upgrade():
    with batch('outbox_messages') as batch_op:
        batch_op.add_column(sa.Column('template', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=True))
        batch_op.alter_column('body_text', existing_type=sa.Text(), nullable=True)


def downgrade():
    # Mail not composed yet cannot be written by the older code: it is marked failed, not lost.
    op.execute(
        "UPDATE outbox_messages SET status = 'failed', body_text = '', "
        "last_error = 'not composed before the downgrade to revision 0019' WHERE body_text IS NULL"
    )
    with batch('outbox_messages') as batch_op:
        batch_op.alter_column('body_text', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('context')
        batch_op.drop_column('template')
