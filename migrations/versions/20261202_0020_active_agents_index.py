"""A partial index of the active technicians and admins (issue 19): counting the seats, listing
the queue's agents and who may be assigned a ticket read only those rows, never the customers.

The condition is written out here (a migration must not change when app code does); it is
accounts.models.ACTIVE_AGENT, which the queries repeat word for word so that the database can
prove they match it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    where = {
        "sqlite": "role IN ('technician', 'admin') AND active IS 1",
        "postgresql": "role IN ('technician', 'admin') AND active IS true",
    }[op.get_bind().dialect.name]
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(
            'ix_users_active_agents',
            ['name'],
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_active_agents')
