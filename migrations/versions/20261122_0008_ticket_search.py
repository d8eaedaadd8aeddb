"""Ticket search: GIN tsvector indexes on PostgreSQL, FTS5 tables with triggers on SQLite.

The SQL is written out here (not imported from helpdesk.models.search) so that this migration
keeps doing what it did when it shipped, whatever the models say later.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# As PostgreSQL prints them back (so autogenerate compares them equal with the models).
TICKET_VECTOR = (
    "to_tsvector('simple'::regconfig, regexp_replace(\"left\"((subject::text || ' '::text) || body, "
    "100000), '[[:punct:]]'::text, ' '::text, 'g'::text))"
)
MESSAGE_VECTOR = (
    "to_tsvector('simple'::regconfig, regexp_replace(\"left\"(body, 100000), "
    "'[[:punct:]]'::text, ' '::text, 'g'::text))"
)

SQLITE_UPGRADE = [
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
    # Index the rows that already exist.
    "INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS tickets_fts_insert",
    "DROP TRIGGER IF EXISTS tickets_fts_delete",
    "DROP TRIGGER IF EXISTS tickets_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TABLE IF EXISTS tickets_fts",
    "DROP TABLE IF EXISTS messages_fts",
]


def upgrade():
    dialect = op.get_context().dialect.name
    if dialect == 'postgresql':
        op.create_index('ix_tickets_search', 'tickets', [sa.text(TICKET_VECTOR)], postgresql_using='gin')
        op.create_index('ix_messages_search', 'messages', [sa.text(MESSAGE_VECTOR)], postgresql_using='gin')
    elif dialect == 'sqlite':
        for statement in SQLITE_UPGRADE:
            op.execute(statement)


def downgrade():
    dialect = op.get_context().dialect.name
    if dialect == 'postgresql':
        op.drop_index('ix_messages_search', table_name='messages')
        op.drop_index('ix_tickets_search', table_name='tickets')
    elif dialect == 'sqlite':
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
