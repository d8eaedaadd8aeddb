"""The full-text search schema: GIN expression indexes on PostgreSQL, FTS5 tables on SQLite.

Both databases split text the same way (runs of letters and digits; punctuation and symbols
separate words; case folded, accents kept) so a search gives the same tickets on either:
PostgreSQL reads the text through the 'simple' configuration (no stemming, no stop words) after
punctuation is replaced by spaces (otherwise its parser keeps "intranet.example.com" or "2.3.1"
as one word), and SQLite's FTS5 uses the unicode61 tokenizer without removing diacritics
(PostgreSQL's 'simple' keeps them). services/search.py writes the queries.
"""

from sqlalchemy import DDL, Index, column, event, table, text

# At most this many characters of a text are indexed on PostgreSQL: a tsvector must stay under
# 1 MB, and a long mail of unique tokens (a log) would otherwise fail to insert.
INDEXED_CHARACTERS = 100_000

# Written exactly as PostgreSQL prints them back when SQLAlchemy reflects them, so that Alembic's
# autogenerate finds the models and the database equal. Queries use the same text, so the planner
# matches them with the indexes.
TICKET_VECTOR = (
    "to_tsvector('simple'::regconfig, regexp_replace(\"left\"((subject::text || ' '::text) || body, "
    f"{INDEXED_CHARACTERS}), '[[:punct:]]'::text, ' '::text, 'g'::text))"
)
MESSAGE_VECTOR = (
    f"to_tsvector('simple'::regconfig, regexp_replace(\"left\"(body, {INDEXED_CHARACTERS}), "
    "'[[:punct:]]'::text, ' '::text, 'g'::text))"
)
SEARCH_INDEXES = ("ix_tickets_search", "ix_messages_search")


def gin_index(name, vector):
    """A PostgreSQL-only GIN index on a tsvector expression (for a model's __table_args__)."""
    return Index(name, text(vector), postgresql_using="gin").ddl_if(dialect="postgresql")


# SQLite: external-content FTS5 tables (they index the rows, they hold no copy of the text),
# kept in step with their tables by triggers. An update reindexes only when the text changes.
# A batch migration that recreates tickets or messages on SQLite ("move and copy") drops the
# triggers with the old table: such a migration must create them again (fts_statements()).
TOKENIZE = "unicode61 remove_diacritics 0"
FTS_TABLES = {
    "tickets": ("tickets_fts", ("subject", "body")),
    "messages": ("messages_fts", ("body",)),
}


def fts_statements(source):
    """CREATE statements for `source`'s FTS5 table and its three triggers."""
    fts, columns = FTS_TABLES[source]
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    insert = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    delete = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{source}', content_rowid='id', "
        f"tokenize='{TOKENIZE}')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {source} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {source} BEGIN {delete} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON {source} BEGIN {delete} {insert} END",
    ]


def install_fts(source_table):
    """Make create_all()/drop_all() build and remove the FTS5 table of `source_table` on SQLite."""
    fts = FTS_TABLES[source_table.name][0]
    for statement in fts_statements(source_table.name):
        event.listen(source_table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    event.listen(source_table, "before_drop", DDL(f"DROP TABLE IF EXISTS {fts}").execute_if(dialect="sqlite"))


def is_fts_table(name):
    """True for the FTS5 tables and the shadow tables SQLite keeps for them (tickets_fts_data, ...)."""
    return any(name == fts or name.startswith(f"{fts}_") for fts, _ in FTS_TABLES.values())


def include_name(name, type_, parent_names):
    """Alembic filter: the FTS5 tables are not models, autogenerate must neither drop nor diff them."""
    return not (type_ == "table" and is_fts_table(name))


# For queries: the FTS5 tables as SQLAlchemy sees them (not in the metadata: never created by it).
tickets_fts = table("tickets_fts", column("rowid"), column("tickets_fts"))
messages_fts = table("messages_fts", column("rowid"), column("messages_fts"))
