"""The full-text search schema: one search document per ticket, on both databases.

A ticket's document holds its subject, its description and the bodies of its messages; there are
two per ticket: "public" (public messages only, for customers) and "all" (internal notes too,
for agents). Triggers rewrite a ticket's two documents whenever its text or one of its messages
changes, so a search is one condition on `tickets`, however many messages match.

- PostgreSQL: two tsvector columns on `tickets`, `search_public` and `search_all`, each with a
  GIN index. They are made by DDL here (and by migration 0010), not declared on the model: the
  ORM never loads them with a Ticket, and Alembic's autogenerate ignores them (include_name).
  tests/test_migrations.py checks the migrated schema equals the one create_all() makes.
- SQLite: two FTS5 tables, `tickets_fts_public` and `tickets_fts_all`, one row per ticket
  (rowid = ticket id) holding the ticket's text, replaced by the triggers. A batch migration that
  recreates tickets or messages on SQLite ("move and copy") drops their triggers with the old
  table: such a migration must create them again (fts_statements()).

Both databases split text the same way (runs of letters and digits; punctuation and symbols
separate words; case folded, accents kept) so a search gives the same tickets on either:
PostgreSQL reads each text through the 'simple' configuration (no stemming, no stop words) after
punctuation is replaced by spaces (otherwise its parser keeps "intranet.example.com" or "2.3.1"
as one word), and SQLite's FTS5 uses the unicode61 tokenizer without removing diacritics
(PostgreSQL's 'simple' keeps them). services/search.py writes the queries.
"""

import contextlib

from sqlalchemy import DDL, column, event, table, text

# At most this many characters of each text (the subject and description together, each message)
# are indexed on PostgreSQL: a long mail of unique tokens (a log) must not blow a tsvector's 1 MB.
INDEXED_CHARACTERS = 100_000

# ---------------------------------------------------------------------------------------------
# PostgreSQL

SEARCH_COLUMNS = ("search_public", "search_all")
SEARCH_INDEXES = ("ix_tickets_search_public", "ix_tickets_search_all")


def _pg_text(expression):
    """SQL of the searchable form of a text: its first characters, punctuation made spaces."""
    return f"regexp_replace(left({expression}, {INDEXED_CHARACTERS}), '[[:punct:]]', ' ', 'g')"


# The ticket's documents are computed in one place, this trigger (BEFORE INSERT OR UPDATE OF
# subject, body): the messages' trigger "touches" the ticket's subject to have them recomputed.
PG_TICKET_FUNCTION = f"""\
CREATE OR REPLACE FUNCTION tickets_search_documents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    public_text text;
    internal_text text;
BEGIN
    SELECT string_agg({_pg_text("body")}, ' ' ORDER BY id) FILTER (WHERE NOT internal),
           string_agg({_pg_text("body")}, ' ' ORDER BY id) FILTER (WHERE internal)
      INTO public_text, internal_text
      FROM messages WHERE ticket_id = NEW.id;
    -- Positions stripped and each document capped: a tsvector must stay under 1 MB, and a ticket
    -- collecting long logs must never make a reply fail to save (its later text goes unindexed).
    -- The messages in their order (ORDER BY id), whatever order a scan reads them in: the cap
    -- keeps the first ones (migration 0042).
    NEW.search_public := strip(to_tsvector('simple', left({_pg_text("NEW.subject || ' ' || NEW.body")}
                                               || ' ' || coalesce(public_text, ''), 400000)));
    NEW.search_all := NEW.search_public
                      || strip(to_tsvector('simple', left(coalesce(internal_text, ''), 200000)));
    RETURN NEW;
END
$$"""

PG_MESSAGE_FUNCTION = """\
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
$$"""

PG_TICKETS_DDL = [
    "ALTER TABLE tickets ADD COLUMN search_public tsvector, ADD COLUMN search_all tsvector",
    "CREATE INDEX ix_tickets_search_public ON tickets USING gin (search_public)",
    "CREATE INDEX ix_tickets_search_all ON tickets USING gin (search_all)",
    PG_TICKET_FUNCTION,
    "CREATE TRIGGER tickets_search_documents BEFORE INSERT OR UPDATE OF subject, body ON tickets "
    "FOR EACH ROW EXECUTE FUNCTION tickets_search_documents()",
]
PG_MESSAGES_DDL = [
    PG_MESSAGE_FUNCTION,
    "CREATE TRIGGER messages_search_documents AFTER INSERT OR DELETE OR UPDATE OF ticket_id, body, "
    "internal ON messages FOR EACH ROW EXECUTE FUNCTION messages_search_documents()",
]
PG_FUNCTIONS = ("tickets_search_documents", "messages_search_documents")

# ---------------------------------------------------------------------------------------------
# SQLite

TOKENIZE = "unicode61 remove_diacritics 0"
# detail=none: only which tickets hold a word is kept (no positions), all that queries ask.
# prefix='1 2 3': every word of a search is a prefix, and a short common one ("the") would merge
# the lists of every word starting with it; these indexes answer it from one list (migration 0052).
FTS_OPTIONS = f"document, tokenize='{TOKENIZE}', detail=none, prefix='1 2 3'"
FTS_TABLES = {"public": "tickets_fts_public", "all": "tickets_fts_all"}


def _sqlite_documents(scope, ticket_id, which):
    """INSERT of the `scope` FTS5 rows of the tickets `which` (a condition on tickets) selects;
    `ticket_id` is the SQL of the ticket's id inside the messages' subquery."""
    public_only = " AND NOT internal" if scope == "public" else ""
    return (
        f"INSERT INTO {FTS_TABLES[scope]}(rowid, document) SELECT id, subject || ' ' || body || ' ' || "
        f"coalesce((SELECT group_concat(body, ' ') FROM messages WHERE ticket_id = {ticket_id}"
        f"{public_only}), '') FROM tickets WHERE {which}"
    )


def _sqlite_refresh(ticket_id):
    """Statements that replace ticket `ticket_id`'s two FTS5 rows (none if the ticket is gone)."""
    statements = []
    for scope, fts in FTS_TABLES.items():
        statements.append(f"DELETE FROM {fts} WHERE rowid = {ticket_id};")
        statements.append(_sqlite_documents(scope, ticket_id, f"id = {ticket_id}") + ";")
    return " ".join(statements)


def fts_statements(source):
    """CREATE statements for the FTS5 tables and triggers that hang on table `source`."""
    if source == "tickets":
        gone = " ".join(f"DELETE FROM {fts} WHERE rowid = old.id;" for fts in FTS_TABLES.values())
        return [
            *(f"CREATE VIRTUAL TABLE {fts} USING fts5({FTS_OPTIONS})" for fts in FTS_TABLES.values()),
            f"CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN {_sqlite_refresh('new.id')} END",
            "CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, body ON tickets "
            f"BEGIN {_sqlite_refresh('new.id')} END",
            f"CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN {gone} END",
        ]
    return [
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages "
        f"BEGIN {_sqlite_refresh('new.ticket_id')} END",
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF ticket_id, body, internal ON messages "
        f"BEGIN {_sqlite_refresh('new.ticket_id')} END",
        "CREATE TRIGGER messages_fts_move AFTER UPDATE OF ticket_id ON messages "
        f"WHEN old.ticket_id <> new.ticket_id BEGIN {_sqlite_refresh('old.ticket_id')} END",
        f"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN {_sqlite_refresh('old.ticket_id')} END",
    ]


def install(tickets_table, messages_table):
    """Make create_all()/drop_all() build and remove the search documents on either database."""
    for source, pg_ddl in ((tickets_table, PG_TICKETS_DDL), (messages_table, PG_MESSAGES_DDL)):
        for statement in pg_ddl:
            event.listen(source, "after_create", DDL(statement).execute_if(dialect="postgresql"))
        for statement in fts_statements(source.name):
            event.listen(source, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for fts in FTS_TABLES.values():
        event.listen(
            tickets_table, "before_drop", DDL(f"DROP TABLE IF EXISTS {fts}").execute_if(dialect="sqlite")
        )
    for function in PG_FUNCTIONS:
        event.listen(
            tickets_table,
            "after_drop",
            DDL(f"DROP FUNCTION IF EXISTS {function}() CASCADE").execute_if(dialect="postgresql"),
        )


def is_fts_table(name):
    """True for the FTS5 tables and the shadow tables SQLite keeps for them (tickets_fts_all_data, ...)."""
    return any(name == fts or name.startswith(f"{fts}_") for fts in FTS_TABLES.values())


def include_name(name, type_, parent_names):
    """Alembic filter: the search schema is not in the models, autogenerate must neither drop nor diff it."""
    if type_ == "table":
        return not is_fts_table(name)
    if type_ == "column":
        return not (parent_names.get("table_name") == "tickets" and name in SEARCH_COLUMNS)
    if type_ == "index":
        return name not in SEARCH_INDEXES
    return True


def forget_replaced_words(connection):
    """Make the search index hold no word of a text that was replaced (a customer's erased
    tickets). SQLite's FTS5 keeps the words of a replaced document in its index segments (not
    found by any search, but in the file) until they are merged: "optimize" merges them now, over
    the whole index (seconds on a large desk; erasures are rare). PostgreSQL rewrites the
    tsvector columns in place; the old row versions go at the next VACUUM, like every updated row's."""
    if connection.dialect.name != "sqlite":
        return
    for fts in FTS_TABLES.values():
        connection.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('optimize')"))


# For queries: the FTS5 tables as SQLAlchemy sees them (not in the metadata: never created by it).
fts_tables = {scope: table(fts, column("rowid"), column(fts)) for scope, fts in FTS_TABLES.items()}


# ---------------------------------------------------------------------------------------------
# Bulk loads

BULK_TRIGGERS = {"sqlite": ("tickets_fts_insert", "messages_fts_insert")}
PG_BULK_TRIGGERS = (("tickets", "tickets_search_documents"), ("messages", "messages_search_documents"))


@contextlib.contextmanager
def documents_written_after(connection, first_ticket_id):
    """For a bulk load in one transaction on `connection`: tickets (ids from `first_ticket_id`)
    and their messages inserted inside the block get their search documents once each, at its
    end, instead of once per row. The insert triggers are lifted inside the transaction only
    (DDL is transactional on both databases: a failure rolls back to the triggers in place), and
    the documents are written by the triggers' own SQL. Only new tickets and their messages may
    be inserted inside the block; on PostgreSQL it locks the tickets and messages tables until the commit."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        for table_name, trigger in PG_BULK_TRIGGERS:
            connection.execute(text(f"ALTER TABLE {table_name} DISABLE TRIGGER {trigger}"))
        yield
        for table_name, trigger in PG_BULK_TRIGGERS:
            connection.execute(text(f"ALTER TABLE {table_name} ENABLE TRIGGER {trigger}"))
        # The ticket's trigger (BEFORE UPDATE OF subject) reads its messages: one document each.
        connection.execute(
            text("UPDATE tickets SET subject = subject WHERE id >= :first"), {"first": first_ticket_id}
        )
        return
    if dialect != "sqlite":
        yield
        return
    for trigger in BULK_TRIGGERS["sqlite"]:
        connection.execute(text(f"DROP TRIGGER {trigger}"))
    yield
    for scope in FTS_TABLES:
        connection.execute(
            text(_sqlite_documents(scope, "tickets.id", "id >= :first")), {"first": first_ticket_id}
        )
    for trigger in BULK_TRIGGERS["sqlite"]:
        source = trigger.split("_", 1)[0]
        (statement,) = (s for s in fts_statements(source) if s.startswith(f"CREATE TRIGGER {trigger} "))
        connection.execute(text(statement))
