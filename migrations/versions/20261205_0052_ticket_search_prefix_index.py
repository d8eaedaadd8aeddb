"""SQLite: the ticket search's FTS5 tables keep prefix indexes of one, two and three characters.

Every word of a search is a prefix ("print" finds printer), and FTS5 answers a prefix by merging
the lists of every word that starts with it: a short, common one ("the", "re pa") merged tens of
thousands of lists. On the benchmark's 20,000-ticket desk, `"the"*` took 10.3 ms and `"re"* "pa"*`
13.8 ms against 0.66 with these indexes (`"t"*` 25 ms against 0.67), for 4.2 MB more in a 62 MB
file (7 %). FTS5 cannot add an index to a table that exists: each table is made again with the
option and its rows copied back (the same documents, so nothing else changes). PostgreSQL's GIN
indexes answer prefixes without this.

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-05

"""
from alembic import op


revision = '0052'
down_revision = '0051'
branch_labels = None
depends_on = None

FTS_TABLES = ("tickets_fts_public", "tickets_fts_all")
# Written out as helpdesk/tickets/search_schema.py makes them for create_all (a test compares the two).
OPTIONS = "document, tokenize='unicode61 remove_diacritics 0', detail=none"


def _remake(options):
    if op.get_bind().dialect.name != 'sqlite':
        return
    for fts in FTS_TABLES:
        # The tickets' and messages' triggers name the table: dropped and made again under its
        # name, they write to the new one (renaming would rewrite the triggers to the old name).
        op.execute(f"CREATE TEMP TABLE search_copy AS SELECT rowid AS id, document FROM {fts}")
        op.execute(f"DROP TABLE {fts}")
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({options})")
        op.execute(f"INSERT INTO {fts}(rowid, document) SELECT id, document FROM search_copy")
        op.execute("DROP TABLE search_copy")


def upgrade():
    _remake(OPTIONS + ", prefix='1 2 3'")


def downgrade():
    _remake(OPTIONS)
