"""Ledger entries are append-only in the database: triggers refuse UPDATE and DELETE on
ledger_entries (PostgreSQL and SQLite); `flask credits verify` checks they are there.

The SQL is written out here (a migration must not change when app code does); it is the same as
helpdesk/credits/ledger_guard.py, which installs it on databases built with create_all.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

"""
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

MESSAGE = "ledger entries are append-only: add a correcting entry instead"

POSTGRESQL_UP = (
    f"""CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = '{MESSAGE} (' || TG_OP || ' refused)';
END
$$""",
    "DROP TRIGGER IF EXISTS ledger_entries_no_update_delete ON ledger_entries",
    """CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()""",
)
POSTGRESQL_DOWN = (
    "DROP TRIGGER IF EXISTS ledger_entries_no_update_delete ON ledger_entries",
    "DROP FUNCTION IF EXISTS ledger_entries_append_only()",
)
SQLITE_UP = (
    f"""CREATE TRIGGER IF NOT EXISTS ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS ledger_entries_no_update",
    "DROP TRIGGER IF EXISTS ledger_entries_no_delete",
)


def _run(statements):
    for statement in statements.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def upgrade():
    _run({"postgresql": POSTGRESQL_UP, "sqlite": SQLITE_UP})


def downgrade():
    _run({"postgresql": POSTGRESQL_DOWN, "sqlite": SQLITE_DOWN})
