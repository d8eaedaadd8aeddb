"""Ticket search: one search document per ticket (public, and with internal notes) instead of
one index per row of tickets and messages, so a search is one condition on tickets.

PostgreSQL: tsvector columns tickets.search_public / search_all with GIN indexes, kept by
plpgsql triggers. SQLite: FTS5 tables tickets_fts_public / tickets_fts_all (rowid = ticket id),
kept by triggers. Existing tickets are indexed by the upgrade. The downgrade restores 0008's
schema (expression indexes on PostgreSQL, external-content FTS5 tables on SQLite).

The SQL is written out here (not imported from helpdesk.models.search) so that this migration
keeps doing what it did when it shipped, whatever the models say later.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _pg_text(expression):
    return f"regexp_replace(left({expression}, 100000), '[[:punct:]]', ' ', 'g')"


PG_UPGRADE = [
    "DROP INDEX IF EXISTS ix_tickets_search",
    "DROP INDEX IF EXISTS ix_messages_search",
    "ALTER TABLE tickets ADD COLUMN search_public tsvector, ADD COLUMN search_all tsvector",
    "CREATE INDEX ix_tickets_search_public ON tickets USING gin (search_public)",
    "CREATE INDEX ix_tickets_search_all ON tickets USING gin (search_all)",
    f"""\
CREATE OR REPLACE FUNCTION tickets_search_documents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    public_text text;
    internal_text text;
BEGIN
    SELECT string_agg({_pg_text("body")}, ' ') FILTER (WHERE NOT internal),
           string_agg({_pg_text("body")}, ' ') FILTER (WHERE internal)
      INTO public_text, internal_text
      FROM messages WHERE ticket_id = NEW.id;
    -- Positions stripped and each document capped: a tsvector must stay under 1 MB, and a ticket
    -- collecting long logs must never make a reply fail to save (its later text goes unindexed).
    NEW.search_public := strip(to_tsvector('simple', left({_pg_text("NEW.subject || ' ' || NEW.body")}
                                               || ' ' || coalesce(public_text, ''), 400000)));
    NEW.search_all := NEW.search_public
                      || strip(to_tsvector('simple', left(coalesce(internal_text, ''), 200000)));
    RETURN NEW;
END
$$""",
    "CREATE TRIGGER tickets_search_documents BEFORE INSERT OR UPDATE OF subject, body ON tickets "
    "FOR EACH ROW EXECUTE FUNCTION tickets_search_documents()",
    """\
CREATE OR REPLACE FUNCTION messages_search_documents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Setting the subject to itself fires tickets_search_documents, which rereads the messages.
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE tickets SET subject = subject WHERE id = OLD.ticket_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.ticket_id <> OLD.ticket_id) THEN
        UPDATE tickets SET subject = subject WHERE id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END
$$""",
    "CREATE TRIGGER messages_search_documents AFTER INSERT OR DELETE OR UPDATE OF ticket_id, body, "
    "internal ON messages FOR EACH ROW EXECUTE FUNCTION messages_search_documents()",
    # Index the tickets that already exist (the trigger computes their documents).
    "UPDATE tickets SET subject = subject",
]

# 0008's expression indexes, as 0008 made them.
PG_0008_TICKET_VECTOR = (
    "to_tsvector('simple'::regconfig, regexp_replace(\"left\"((subject::text || ' '::text) || body, "
    "100000), '[[:punct:]]'::text, ' '::text, 'g'::text))"
)
PG_0008_MESSAGE_VECTOR = (
    "to_tsvector('simple'::regconfig, regexp_replace(\"left\"(body, 100000), "
    "'[[:punct:]]'::text, ' '::text, 'g'::text))"
)
PG_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS messages_search_documents ON messages",
    "DROP TRIGGER IF EXISTS tickets_search_documents ON tickets",
    "DROP FUNCTION IF EXISTS messages_search_documents()",
    "DROP FUNCTION IF EXISTS tickets_search_documents()",
    "DROP INDEX IF EXISTS ix_tickets_search_all",
    "DROP INDEX IF EXISTS ix_tickets_search_public",
    "ALTER TABLE tickets DROP COLUMN search_all, DROP COLUMN search_public",
    f"CREATE INDEX ix_tickets_search ON tickets USING gin ({PG_0008_TICKET_VECTOR})",
    f"CREATE INDEX ix_messages_search ON messages USING gin ({PG_0008_MESSAGE_VECTOR})",
]

FTS_TABLES = {"public": "tickets_fts_public", "all": "tickets_fts_all"}


def _sqlite_document(ticket_id, scope):
    public_only = " AND NOT internal" if scope == "public" else ""
    return (
        f"subject || ' ' || body || ' ' || coalesce((SELECT group_concat(body, ' ') FROM messages "
        f"WHERE ticket_id = {ticket_id}{public_only}), '')"
    )


def _sqlite_refresh(ticket_id):
    statements = []
    for scope, fts in FTS_TABLES.items():
        statements.append(f"DELETE FROM {fts} WHERE rowid = {ticket_id};")
        statements.append(
            f"INSERT INTO {fts}(rowid, document) SELECT id, {_sqlite_document(ticket_id, scope)} "
            f"FROM tickets WHERE id = {ticket_id};"
        )
    return " ".join(statements)


SQLITE_0008_TRIGGERS = [
    f"{table}_fts_{event}" for table in ("tickets", "messages") for event in ("insert", "delete", "update")
]
SQLITE_UPGRADE = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_0008_TRIGGERS),
    "DROP TABLE IF EXISTS tickets_fts",
    "DROP TABLE IF EXISTS messages_fts",
    *(
        f"CREATE VIRTUAL TABLE {fts} USING fts5(document, tokenize='unicode61 remove_diacritics 0', "
        "detail=none)"
        for fts in FTS_TABLES.values()
    ),
    f"CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN {_sqlite_refresh('new.id')} END",
    f"CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, body ON tickets BEGIN {_sqlite_refresh('new.id')} END",
    "CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN "
    "DELETE FROM tickets_fts_public WHERE rowid = old.id; DELETE FROM tickets_fts_all WHERE rowid = old.id; END",
    f"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN {_sqlite_refresh('new.ticket_id')} END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF ticket_id, body, internal ON messages "
    f"BEGIN {_sqlite_refresh('new.ticket_id')} END",
    "CREATE TRIGGER messages_fts_move AFTER UPDATE OF ticket_id ON messages "
    f"WHEN old.ticket_id <> new.ticket_id BEGIN {_sqlite_refresh('old.ticket_id')} END",
    f"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN {_sqlite_refresh('old.ticket_id')} END",
    # Index the tickets that already exist.
    *(
        f"INSERT INTO {fts}(rowid, document) SELECT tickets.id, {_sqlite_document('tickets.id', scope)} "
        "FROM tickets"
        for scope, fts in FTS_TABLES.items()
    ),
]

# 0008's external-content tables and triggers, as 0008 made them.
SQLITE_DOWNGRADE = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in (*SQLITE_0008_TRIGGERS, "messages_fts_move")),
    *(f"DROP TABLE IF EXISTS {fts}" for fts in FTS_TABLES.values()),
    "CREATE VIRTUAL TABLE tickets_fts USING fts5(subject, body, content='tickets', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN "
    "INSERT INTO tickets_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body); END",
    "CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, subject, body) "
    "VALUES ('delete', old.id, old.subject, old.body); END",
    "CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, body ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, subject, body) "
    "VALUES ('delete', old.id, old.subject, old.body); "
    "INSERT INTO tickets_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body); END",
    "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
    "INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        _run(PG_UPGRADE)
    elif dialect == "sqlite":
        _run(SQLITE_UPGRADE)


def downgrade():
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        _run(PG_DOWNGRADE)
    elif dialect == "sqlite":
        _run(SQLITE_DOWNGRADE)
