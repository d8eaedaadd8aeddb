"""A webhook endpoint keeps the key of the form that added it: a resent form adds nothing.

"New endpoint" added an endpoint on every POST, so a form sent twice (a double click without
JavaScript, back and resubmit) stored two identical endpoints, and every event was delivered
twice. The form now carries a submission key made when it is shown; the endpoint keeps a digest
of that key and of what it was added with (webhooks.endpoints.create_endpoint), unique per admin.
Existing endpoints have none (NULL: never equal to another).

A unique index rather than a constraint, on both databases: SQLite adds an index in place, and
a constraint only by copying the table.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa


revision = '0047'
down_revision = '0046'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('webhook_endpoints', sa.Column('submission_key', sa.String(length=64), nullable=True))
    op.create_index(
        'uq_webhook_endpoints_creator_submission_key',
        'webhook_endpoints',
        ['created_by_id', 'submission_key'],
        unique=True,
    )


def downgrade():
    op.drop_index('uq_webhook_endpoints_creator_submission_key', table_name='webhook_endpoints')
    op.drop_column('webhook_endpoints', 'submission_key')
