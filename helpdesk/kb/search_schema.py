"""The knowledge base's full-text search schema, on both databases (the ticket search's approach).

Each article has one search document: its title, its tags and its text, weighted in that order
for ranking. Triggers rewrite it whenever one of the three changes (never for a status or
visibility change), so a search is one condition on `kb_articles`.

- PostgreSQL: tsvector columns `kb_articles.search_document` (title weight A, tags B, text D) and
  `search_title` (title and tags alone, for the suggestions' "a word in the title or tags", which
  a weight restriction on the document could not take from the index), each with a GIN index,
  computed by a BEFORE trigger. Made by
  DDL here (and by migration 0021), not declared on the model: the ORM never loads it, and
  Alembic's autogenerate ignores it (include_name). Positions are kept (ranking reads them);
  articles are short, and at most TEXT_CHARACTERS of the text are indexed.
- SQLite: an FTS5 table `kb_articles_fts` over the same three columns, external content
  (`content='kb_articles'`: the text is stored once), kept by triggers; bm25() ranks with the
  column weights below. A batch migration that recreates kb_articles on SQLite ("move and copy")
  drops its triggers with the old table: such a migration must create them again
  (fts_statements()). A search joins each match to its article for who may read it: the index
  `ix_kb_articles_fts_access` (FTS_ACCESS_DDL) holds what that join reads (id, status,
  visibility, category), so each match is one lookup in a small index instead of in the table's
  ~1 KB rows (kb/search.py names it with INDEXED BY: ~1,600 matches joined in 0.6 ms instead of
  1.7, bench/README.md).

Words are split as tickets' are (tickets/search_schema.py): runs of letters and digits, case
folded, accents kept; PostgreSQL reads each text through the 'simple' configuration after
punctuation is made spaces, SQLite through unicode61 without removing diacritics, so both
databases find the same articles. kb/search.py writes the queries.
"""

from sqlalchemy import DDL, column, event, table

TEXT_CHARACTERS = 200_000  # of an article's text indexed on PostgreSQL (forms allow 100,000)
SQLITE_WEIGHTS = (10.0, 5.0, 1.0)  # bm25 weights of title, tags, text

# ---------------------------------------------------------------------------------------------
# PostgreSQL

SEARCH_COLUMN = "search_document"  # title (weight A), tags (B) and text (D)
TITLE_COLUMN = "search_title"  # title and tags alone: suggestions want a word there (GIN-indexable)
SEARCH_INDEX = "ix_kb_articles_search"
TITLE_INDEX = "ix_kb_articles_search_title"
SEARCH_COLUMNS = (SEARCH_COLUMN, TITLE_COLUMN)
SEARCH_INDEXES = (SEARCH_INDEX, TITLE_INDEX)
PG_FUNCTION = "kb_articles_search_document"


def _pg_words(expression):
    return f"to_tsvector('simple', regexp_replace({expression}, '[[:punct:]]', ' ', 'g'))"


PG_FUNCTION_SQL = f"""\
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.{TITLE_COLUMN} := setweight({_pg_words("NEW.title")}, 'A') || setweight({_pg_words("NEW.tag_line")}, 'B');
    NEW.{SEARCH_COLUMN} := NEW.{TITLE_COLUMN}
        || setweight({_pg_words(f"left(NEW.body, {TEXT_CHARACTERS})")}, 'D');
    RETURN NEW;
END
$$"""

PG_DDL = [
    f"ALTER TABLE kb_articles ADD COLUMN {SEARCH_COLUMN} tsvector, ADD COLUMN {TITLE_COLUMN} tsvector",
    f"CREATE INDEX {SEARCH_INDEX} ON kb_articles USING gin ({SEARCH_COLUMN})",
    f"CREATE INDEX {TITLE_INDEX} ON kb_articles USING gin ({TITLE_COLUMN})",
    PG_FUNCTION_SQL,
    f"CREATE TRIGGER {PG_FUNCTION} BEFORE INSERT OR UPDATE OF title, tag_line, body ON kb_articles "
    f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
]

# ---------------------------------------------------------------------------------------------
# SQLite

FTS_TABLE = "kb_articles_fts"
FTS_ACCESS_INDEX = "ix_kb_articles_fts_access"  # what a match's join to its article reads
FTS_ACCESS_DDL = f"CREATE INDEX {FTS_ACCESS_INDEX} ON kb_articles (id, status, visibility, category_id)"
TOKENIZE = "unicode61 remove_diacritics 0"
_COLUMNS = "title, tag_line, body"


def fts_statements():
    """CREATE statements for the FTS5 table and the triggers on kb_articles that keep it."""
    insert = f"INSERT INTO {FTS_TABLE}(rowid, {_COLUMNS}) VALUES (new.id, new.title, new.tag_line, new.body);"
    delete = (
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLUMNS}) "
        "VALUES ('delete', old.id, old.title, old.tag_line, old.body);"
    )
    return [
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({_COLUMNS}, content='kb_articles', "
        f"content_rowid='id', tokenize='{TOKENIZE}')",
        f"CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON kb_articles BEGIN {insert} END",
        f"CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON kb_articles BEGIN {delete} END",
        f"CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF title, tag_line, body ON kb_articles "
        f"BEGIN {delete} {insert} END",
    ]


def install(articles_table):
    """Make create_all()/drop_all() build and remove the search document on either database."""
    for statement in PG_DDL:
        event.listen(articles_table, "after_create", DDL(statement).execute_if(dialect="postgresql"))
    for statement in [*fts_statements(), FTS_ACCESS_DDL]:
        event.listen(articles_table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    event.listen(
        articles_table, "before_drop", DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite")
    )
    event.listen(
        articles_table,
        "after_drop",
        DDL(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}() CASCADE").execute_if(dialect="postgresql"),
    )


def is_fts_table(name):
    """True for the FTS5 table and the shadow tables SQLite keeps for it (kb_articles_fts_data, ...)."""
    return name == FTS_TABLE or name.startswith(f"{FTS_TABLE}_")


def include_name(name, type_, parent_names):
    """Alembic filter: the search schema is not in the models, autogenerate must neither drop nor diff it."""
    if type_ == "table":
        return not is_fts_table(name)
    if type_ == "column":
        return not (parent_names.get("table_name") == "kb_articles" and name in SEARCH_COLUMNS)
    if type_ == "index":
        return name not in SEARCH_INDEXES and name != FTS_ACCESS_INDEX
    return True


# For queries: the FTS5 table as SQLAlchemy sees it (not in the metadata: never created by it).
fts_table = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))
