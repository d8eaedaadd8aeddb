"""Knowledge base: articles in ticket categories with revisions, old slugs, tags, files and votes;
views per day, suggestions opened from the new-ticket form and searches for the reports; and the
articles' search documents (PostgreSQL: tsvector columns with GIN indexes kept by a trigger;
SQLite: an external-content FTS5 table kept by triggers).

The search SQL is written out here (not imported from helpdesk.kb.search_schema) so that this
migration keeps doing what it did when it shipped; tests/test_migrations.py checks it equals what
create_all() makes. Down revision 0019: re-chained at merge after the migrations of other branches.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def _pg_words(expression):
    return f"to_tsvector('simple', regexp_replace({expression}, '[[:punct:]]', ' ', 'g'))"


PG_UP = [
    "ALTER TABLE kb_articles ADD COLUMN search_document tsvector, ADD COLUMN search_title tsvector",
    "CREATE INDEX ix_kb_articles_search ON kb_articles USING gin (search_document)",
    "CREATE INDEX ix_kb_articles_search_title ON kb_articles USING gin (search_title)",
    f"""\
CREATE OR REPLACE FUNCTION kb_articles_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_title := setweight({_pg_words("NEW.title")}, 'A') || setweight({_pg_words("NEW.tag_line")}, 'B');
    NEW.search_document := NEW.search_title
        || setweight({_pg_words("left(NEW.body, 200000)")}, 'D');
    RETURN NEW;
END
$$""",
    "CREATE TRIGGER kb_articles_search_document BEFORE INSERT OR UPDATE OF title, tag_line, body ON kb_articles "
    "FOR EACH ROW EXECUTE FUNCTION kb_articles_search_document()",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS kb_articles_search_document ON kb_articles",
    "DROP FUNCTION IF EXISTS kb_articles_search_document()",
]

_INSERT = "INSERT INTO kb_articles_fts(rowid, title, tag_line, body) VALUES (new.id, new.title, new.tag_line, new.body);"
_DELETE = (
    "INSERT INTO kb_articles_fts(kb_articles_fts, rowid, title, tag_line, body) "
    "VALUES ('delete', old.id, old.title, old.tag_line, old.body);"
)
SQLITE_UP = [
    "CREATE VIRTUAL TABLE kb_articles_fts USING fts5(title, tag_line, body, content='kb_articles', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    f"CREATE TRIGGER kb_articles_fts_insert AFTER INSERT ON kb_articles BEGIN {_INSERT} END",
    f"CREATE TRIGGER kb_articles_fts_delete AFTER DELETE ON kb_articles BEGIN {_DELETE} END",
    "CREATE TRIGGER kb_articles_fts_update AFTER UPDATE OF title, tag_line, body ON kb_articles "
    f"BEGIN {_DELETE} {_INSERT} END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS kb_articles_fts_update",
    "DROP TRIGGER IF EXISTS kb_articles_fts_delete",
    "DROP TRIGGER IF EXISTS kb_articles_fts_insert",
    "DROP TABLE IF EXISTS kb_articles_fts",
]


def _run(statements):
    for statement in statements.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def upgrade():
    op.create_table('kb_search_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.Column('category_scope', sa.Integer(), nullable=False),
    sa.Column('searches', sa.Integer(), nullable=False),
    sa.Column('empty', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_search_counts')),
    sa.UniqueConstraint('day', 'query', 'category_scope', name=op.f('uq_kb_search_counts_day_query_category_scope'))
    )
    op.create_table('kb_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tag_line', sa.String(length=600), nullable=False),
    sa.Column('visibility', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('source_message_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name=op.f('ck_kb_articles_status_valid')),
    sa.CheckConstraint("visibility IN ('public', 'customers', 'agents')", name=op.f('ck_kb_articles_visibility_valid')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_kb_articles_category_id_categories')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_kb_articles_created_by_id_users')),
    sa.ForeignKeyConstraint(['source_message_id'], ['messages.id'], name=op.f('fk_kb_articles_source_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_kb_articles_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_articles')),
    sa.UniqueConstraint('slug', name=op.f('uq_kb_articles_slug'))
    )
    op.create_index(op.f('ix_kb_articles_category_id'), 'kb_articles', ['category_id'], unique=False)
    op.create_index('ix_kb_articles_reading', 'kb_articles', ['status', 'visibility', 'category_id'], unique=False)
    op.create_table('kb_article_days',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_days_article_id_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'day', name=op.f('pk_kb_article_days'))
    )
    op.create_index('ix_kb_article_days_day', 'kb_article_days', ['day'], unique=False)
    op.create_table('kb_article_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_files_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_kb_article_files_attachment_id_attachments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_files')),
    sa.UniqueConstraint('attachment_id', name=op.f('uq_kb_article_files_attachment_id'))
    )
    op.create_index(op.f('ix_kb_article_files_article_id'), 'kb_article_files', ['article_id'], unique=False)
    op.create_table('kb_article_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_tags_article_id_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_tags')),
    sa.UniqueConstraint('article_id', 'name', name=op.f('uq_kb_article_tags_article_id_name'))
    )
    op.create_index('ix_kb_article_tags_name', 'kb_article_tags', ['name'], unique=False)
    op.create_table('kb_old_slugs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_old_slugs_article_id_kb_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_old_slugs')),
    sa.UniqueConstraint('slug', name=op.f('uq_kb_old_slugs_slug'))
    )
    op.create_index(op.f('ix_kb_old_slugs_article_id'), 'kb_old_slugs', ['article_id'], unique=False)
    op.create_table('kb_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tag_line', sa.String(length=600), nullable=False),
    sa.Column('note', sa.String(length=400), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_revisions_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_revisions_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_revisions')),
    sa.UniqueConstraint('article_id', 'number', name=op.f('uq_kb_revisions_article_id_number'))
    )
    op.create_table('kb_suggestion_clicks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('form_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_suggestion_clicks_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kb_suggestion_clicks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_suggestion_clicks')),
    sa.UniqueConstraint('user_id', 'form_key', 'article_id', name=op.f('uq_kb_suggestion_clicks_user_id_form_key_article_id'))
    )
    op.create_index(op.f('ix_kb_suggestion_clicks_article_id'), 'kb_suggestion_clicks', ['article_id'], unique=False)
    op.create_index(op.f('ix_kb_suggestion_clicks_created_at'), 'kb_suggestion_clicks', ['created_at'], unique=False)
    op.create_table('kb_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('browser_key', sa.String(length=64), nullable=True),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_votes_article_id_kb_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kb_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_votes')),
    sa.UniqueConstraint('article_id', 'browser_key', name=op.f('uq_kb_votes_article_id_browser_key')),
    sa.UniqueConstraint('article_id', 'user_id', name=op.f('uq_kb_votes_article_id_user_id'))
    )
    op.create_index(op.f('ix_kb_votes_updated_at'), 'kb_votes', ['updated_at'], unique=False)
    _run({'postgresql': PG_UP, 'sqlite': SQLITE_UP})


def downgrade():
    _run({'postgresql': PG_DOWN, 'sqlite': SQLITE_DOWN})
    op.drop_index(op.f('ix_kb_votes_updated_at'), table_name='kb_votes')
    op.drop_table('kb_votes')
    op.drop_index(op.f('ix_kb_suggestion_clicks_created_at'), table_name='kb_suggestion_clicks')
    op.drop_index(op.f('ix_kb_suggestion_clicks_article_id'), table_name='kb_suggestion_clicks')
    op.drop_table('kb_suggestion_clicks')
    op.drop_table('kb_revisions')
    op.drop_index(op.f('ix_kb_old_slugs_article_id'), table_name='kb_old_slugs')
    op.drop_table('kb_old_slugs')
    op.drop_index('ix_kb_article_tags_name', table_name='kb_article_tags')
    op.drop_table('kb_article_tags')
    op.drop_index(op.f('ix_kb_article_files_article_id'), table_name='kb_article_files')
    op.drop_table('kb_article_files')
    op.drop_index('ix_kb_article_days_day', table_name='kb_article_days')
    op.drop_table('kb_article_days')
    op.drop_index('ix_kb_articles_reading', table_name='kb_articles')
    op.drop_index(op.f('ix_kb_articles_category_id'), table_name='kb_articles')
    op.drop_table('kb_articles')
    op.drop_table('kb_search_counts')
