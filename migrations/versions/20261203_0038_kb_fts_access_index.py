"""The knowledge base's search joins each match to its article through a small index (SQLite).

A search on SQLite joins every FTS5 match to its article to keep only those the reader may read
(status, visibility, category). Each join read the article's row, about 1 KB of text for four
columns: 1.7 ms for the ~1,600 matches of one broad word at 10,000 articles. This index holds just
those columns; kb/search.py reads it (INDEXED BY): 0.6 ms. PostgreSQL filters the rows its GIN
bitmap scan reads anyway and gets nothing from it, so it is made on SQLite only, with the search
schema it serves (kb/search_schema.py: not in the models).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-03

"""
from alembic import op


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

# Written out as kb/search_schema.py's FTS_ACCESS_DDL makes it for create_all (a test compares
# the two).
INDEX = 'ix_kb_articles_fts_access'


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'CREATE INDEX {INDEX} ON kb_articles (id, status, visibility, category_id)')


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'DROP INDEX {INDEX}')
