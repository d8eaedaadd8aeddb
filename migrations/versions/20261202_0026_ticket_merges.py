"""Merged tickets remember the ticket they were merged into.

The column is added with plain ALTER TABLE (no table rebuild: the search triggers on tickets
would break SQLite's rename). On SQLite the reference is written into the column definition;
downgrading drops the column on PostgreSQL and, on SQLite, clears it (SQLite cannot drop a column
that carries a foreign key without rebuilding the table; upgrading again keeps it).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

FK = 'fk_tickets_merged_into_id_tickets'


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        columns = {row[1] for row in bind.exec_driver_sql("PRAGMA table_info(tickets)")}
        if 'merged_into_id' not in columns:  # a downgrade on SQLite leaves the (emptied) column
            op.execute(f"ALTER TABLE tickets ADD COLUMN merged_into_id INTEGER CONSTRAINT {FK} REFERENCES tickets (id)")
    else:
        op.add_column('tickets', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key(FK, 'tickets', 'tickets', ['merged_into_id'], ['id'])


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("UPDATE tickets SET merged_into_id = NULL")
    else:
        op.drop_constraint(FK, 'tickets', type_='foreignkey')
        op.drop_column('tickets', 'merged_into_id')
