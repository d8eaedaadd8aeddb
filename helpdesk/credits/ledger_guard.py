"""The database itself refuses to change or remove a ledger entry (both databases).

The ledger is append-only by design (corrections are new entries); these triggers make it so for
every client of the database, not only this app: a bug, a console session or an attacker with the
app's credentials can add entries but cannot rewrite history. `flask credits verify` checks they
are in place. Installed by migration 0019 and, for databases built with `create_all` (tests), by
the `after_create` listener below.

SQLite drops a table's triggers with the table: a batch migration that rebuilds `ledger_entries`
must call `install(op.get_bind())` again (docs/decisions.md, "Database").
"""

from sqlalchemy import DDL, event, text

from helpdesk.credits.models import LedgerEntry

TABLE = LedgerEntry.__tablename__
MESSAGE = "ledger entries are append-only: add a correcting entry instead"
PG_FUNCTION = "ledger_entries_append_only"
TRIGGERS = {
    "postgresql": ("ledger_entries_no_update_delete",),
    "sqlite": ("ledger_entries_no_update", "ledger_entries_no_delete"),
}

POSTGRESQL = (
    f"""CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = '{MESSAGE} (' || TG_OP || ' refused)';
END
$$""",
    f"DROP TRIGGER IF EXISTS ledger_entries_no_update_delete ON {TABLE}",
    f"""CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()""",
)
SQLITE = (
    f"""CREATE TRIGGER IF NOT EXISTS ledger_entries_no_update BEFORE UPDATE ON {TABLE}
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_entries_no_delete BEFORE DELETE ON {TABLE}
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
)
STATEMENTS = {"postgresql": POSTGRESQL, "sqlite": SQLITE}


def install(connection):
    """Create the triggers on this connection's database (idempotent)."""
    for statement in STATEMENTS.get(connection.dialect.name, ()):
        connection.execute(text(statement))


def uninstall(connection):
    name = connection.dialect.name
    for trigger in TRIGGERS.get(name, ()):
        if name == "postgresql":
            connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger} ON {TABLE}"))
        else:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
    if name == "postgresql":
        connection.execute(text(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()"))


def missing_triggers(connection):
    """The names of the guard triggers this database lacks (empty when all are there)."""
    name = connection.dialect.name
    if name == "postgresql":
        query = text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:table AS regclass) AND NOT tgisinternal"
        )
        present = set(connection.execute(query, {"table": TABLE}).scalars())
    elif name == "sqlite":
        query = text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table")
        present = set(connection.execute(query, {"table": TABLE}).scalars())
    else:
        return []
    return [trigger for trigger in TRIGGERS[name] if trigger not in present]


for _dialect, _statements in STATEMENTS.items():
    for _statement in _statements:
        event.listen(LedgerEntry.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
