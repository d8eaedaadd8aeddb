"""Migrations: an empty database upgrades to head, and the result matches the models exactly."""

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from helpdesk import create_app
from helpdesk.credits import ledger_guard
from helpdesk.extensions import db
from helpdesk.kb import search_schema as kb_search
from helpdesk.tickets.search_schema import SEARCH_INDEXES
from helpdesk.tickets.search_schema import include_name as ticket_search_names
from tests.conftest import fresh_database, make_test_config

NAME_INDEXES = ("uq_categories_lower_name", "uq_organizations_lower_name")


def include_name(name, type_, parent_names):
    """The search schemas of tickets and of the knowledge base are not in the models (as migrations/env.py)."""
    return ticket_search_names(name, type_, parent_names) and kb_search.include_name(
        name, type_, parent_names
    )


# What a ticket needs, inserted by hand in a database at an old revision (the models may have moved on).
A_CUSTOMER_A_CATEGORY_A_PRIORITY = (
    "INSERT INTO users (email, name, password_hash, role, active, is_org_manager, timezone, session_token, "
    "created_at) "
    "VALUES ('c@example.com', 'C', 'x', 'customer', true, false, 'UTC', 'tok', CURRENT_TIMESTAMP)",
    "INSERT INTO categories (name, archived) VALUES ('IT', false)",
    "INSERT INTO priorities (name, sort_order, response_minutes, credit_cost) VALUES ('Low', 0, 60, 0)",
)


def a_ticket(body):
    """SQL for one ticket "Printer jams" with `body`, of the customer, category and priority above."""
    return (
        "INSERT INTO tickets (subject, body, requester_id, category_id, priority_id, status, "
        f"created_at, updated_at, due_at, version) SELECT 'Printer jams', '{body}', u.id, c.id, "
        "p.id, 'new', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1 "
        "FROM users u, categories c, priorities p"
    )


@pytest.fixture
def empty_database_url(tmp_path):
    with fresh_database(tmp_path) as url:
        yield url


def test_upgrade_from_empty_to_head_matches_the_models(empty_database_url, tmp_path):
    app = create_app(make_test_config(empty_database_url, str(tmp_path)))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn, warnings.catch_warnings():
            # SQLite reflects no expression indexes, so these are compared on PostgreSQL only
            # (the unique names are also checked by behaviour: test_names_unique_ignoring_case).
            for name in (*SEARCH_INDEXES, *kb_search.SEARCH_INDEXES, *NAME_INDEXES):
                warnings.filterwarnings("ignore", f"autogenerate skipping .* index '{name}'")
                warnings.filterwarnings(
                    "ignore", f"Skipped unsupported reflection of expression-based index {name}"
                )
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            )
            diff = compare_metadata(context, db.metadata)
            assert ledger_guard.missing_triggers(conn) == []  # the append-only ledger (0019)
        assert diff == []
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.session.remove()
        db.engine.dispose()


def test_sqlite_engine_enforces_foreign_keys(tmp_path):
    from sqlalchemy import text

    app = create_app(make_test_config(f"sqlite:///{tmp_path}/fk.sqlite3", str(tmp_path)))
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()
    create_engine("sqlite://").dispose()


def test_sqlite_search_schema_from_migrations_is_the_one_create_all_makes(tmp_path):
    """The FTS5 tables and triggers are written twice (models/search.py, migration 0010): the same SQL."""
    from sqlalchemy import text

    def search_schema(url, build):
        app = create_app(make_test_config(url, str(tmp_path)))
        with app.app_context():
            build()
            with db.engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT type, name, sql FROM sqlite_master WHERE name LIKE '%fts%' ORDER BY name")
                ).all()
            db.session.remove()
            db.engine.dispose()
        return rows

    migrated = search_schema(f"sqlite:///{tmp_path}/migrated.sqlite3", upgrade)
    created = search_schema(f"sqlite:///{tmp_path}/created.sqlite3", db.create_all)
    assert {name for _, name, _ in migrated} >= {
        "tickets_fts_public",
        "tickets_fts_all",
        "messages_fts_update",
        "kb_articles_fts",
        "kb_articles_fts_update",
    }
    assert migrated == created


PG_SEARCH_SCHEMA = """
SELECT 'column', attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid IN ('tickets'::regclass, 'kb_articles'::regclass) AND attname LIKE 'search%' AND NOT attisdropped
UNION ALL SELECT 'index', indexname, indexdef FROM pg_indexes
 WHERE indexname LIKE '%search%' AND tablename IN ('tickets', 'messages', 'kb_articles')
UNION ALL SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname LIKE '%search%'
UNION ALL SELECT 'function', proname, prosrc FROM pg_proc
 WHERE proname LIKE '%search_documents' OR proname = 'kb_articles_search_document'
ORDER BY 1, 2
"""


@pytest.mark.postgres_only  # PostgreSQL's own search schema: run in the PostgreSQL pass
def test_postgresql_search_schema_from_migrations_is_the_one_create_all_makes(tmp_path):
    """The search columns, GIN indexes, triggers and functions are written twice (tickets and kb
    search_schema.py, migrations 0010 and 0021) and are not in the models Alembic compares: the
    same schema either way."""
    from sqlalchemy import text

    def search_schema(build):
        with fresh_database(tmp_path) as url:
            app = create_app(make_test_config(url, str(tmp_path)))
            with app.app_context():
                build()
                with db.engine.connect() as conn:
                    rows = conn.execute(text(PG_SEARCH_SCHEMA)).all()
                db.session.remove()
                db.engine.dispose()
        return rows

    migrated = search_schema(upgrade)
    assert {name for _, name, _ in migrated} == {
        "search_public",
        "search_all",
        "ix_tickets_search_public",
        "ix_tickets_search_all",
        "tickets_search_documents",
        "messages_search_documents",
        "search_document",
        "search_title",
        "ix_kb_articles_search",
        "ix_kb_articles_search_title",
        "kb_articles_search_document",
    }
    assert migrated == search_schema(db.create_all)


def test_upgrade_indexes_existing_tickets_and_downgrade_restores_the_per_row_search(
    empty_database_url, tmp_path
):
    """Migration 0010 builds the documents of the tickets already there; its downgrade gives back
    0008's search schema, indexing them too."""
    from sqlalchemy import select, text

    from helpdesk.tickets import search
    from helpdesk.tickets.models import Ticket

    app = create_app(make_test_config(empty_database_url, str(tmp_path)))
    with app.app_context():
        upgrade(revision="0009")
        with db.engine.begin() as conn:
            for statement in (
                *A_CUSTOMER_A_CATEGORY_A_PRIORITY,
                a_ticket("On floor 2."),
                "INSERT INTO messages (ticket_id, body, internal, source, created_at) "
                "SELECT id, 'Reply from Paris', false, 'web', CURRENT_TIMESTAMP FROM tickets",
                "INSERT INTO messages (ticket_id, body, internal, source, created_at) "
                "SELECT id, 'Note about zanzibar', true, 'web', CURRENT_TIMESTAMP FROM tickets",
            ):
                conn.execute(text(statement))
        upgrade()

        def found(query, include_internal):
            condition = search.ticket_condition(query, include_internal=include_internal)
            return db.session.scalars(select(Ticket.subject).where(condition)).all()

        assert found("printer paris", False) == found("zanzibar", True) == ["Printer jams"]
        assert found("zanzibar", False) == []
        db.session.remove()
        downgrade(revision="0009")
        with db.engine.connect() as conn:
            if db.engine.dialect.name == "sqlite":
                hits = "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '\"paris\"*'"
            else:
                hits = (
                    "SELECT count(*) FROM pg_indexes WHERE indexname IN "
                    "('ix_tickets_search', 'ix_messages_search')"
                )
            assert conn.execute(text(hits)).scalar() in (1, 2)
            assert "search_all" not in {c["name"] for c in inspect(conn).get_columns("tickets")}
        db.session.remove()
        db.engine.dispose()


def test_names_unique_ignoring_case_in_the_migrated_database(empty_database_url, tmp_path):
    """Migration 0009: "it" next to "IT" is refused by the database itself, and an upgrade over
    names that already clash stops with those names instead of half-applying."""
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    app = create_app(make_test_config(empty_database_url, str(tmp_path)))
    with app.app_context():
        upgrade(revision="0008")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO categories (name, archived) VALUES ('IT', false), ('it', false)"))
        config = app.extensions["migrate"].migrate.get_config()
        with pytest.raises(RuntimeError, match="categories has names that differ only by case: it"):
            command.upgrade(config, "head")  # (flask_migrate.upgrade would turn it into an exit)
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE categories SET name = 'IT support' WHERE name = 'it'"))
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO organizations (name, created_at) VALUES ('Acme', CURRENT_TIMESTAMP)")
            )
        for insert in (
            "INSERT INTO categories (name, archived) VALUES ('it', false)",
            "INSERT INTO organizations (name, created_at) VALUES ('ACME', CURRENT_TIMESTAMP)",
        ):
            with pytest.raises(IntegrityError), db.engine.begin() as conn:
                conn.execute(text(insert))
        db.session.remove()
        db.engine.dispose()


def test_stored_message_html_moves_its_headings_below_the_message_s_own(empty_database_url, tmp_path):
    """Migration 0044: the HTML kept with a ticket's description and its messages has its headings
    one level lower (each message now has an h3 of its own); text that only reads like a tag is
    left alone, and the downgrade moves them back."""
    from sqlalchemy import text

    app = create_app(make_test_config(empty_database_url, str(tmp_path)))
    kept = "<h3>Steps</h3><h4>If not</h4><h5>Deep</h5><h6>Deepest</h6><p>&lt;h3&gt; is a tag</p>"
    with app.app_context():
        upgrade(revision="0043")
        with db.engine.begin() as conn:
            for statement in (
                *A_CUSTOMER_A_CATEGORY_A_PRIORITY,
                "INSERT INTO tickets (subject, body, body_html, requester_id, category_id, priority_id, status, "
                "created_at, updated_at, due_at, version) SELECT 'Printer jams', '# Steps', :kept, u.id, c.id, "
                "p.id, 'new', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1 "
                "FROM users u, categories c, priorities p",
                "INSERT INTO messages (ticket_id, body, body_html, internal, source, created_at) "
                "SELECT id, '# Steps', :kept, false, 'web', CURRENT_TIMESTAMP FROM tickets",
                "INSERT INTO messages (ticket_id, body, body_html, internal, source, created_at) "
                "SELECT id, 'Plain', '<p>Plain</p>', false, 'web', CURRENT_TIMESTAMP FROM tickets",
            ):
                conn.execute(text(statement), {"kept": kept})

        def stored():
            with db.engine.connect() as conn:
                return [
                    *conn.execute(text("SELECT body_html FROM tickets")).scalars(),
                    *conn.execute(text("SELECT body_html FROM messages ORDER BY id")).scalars(),
                ]

        upgrade(revision="0044")
        moved = "<h4>Steps</h4><h5>If not</h5><h6>Deep</h6><h6>Deepest</h6><p>&lt;h3&gt; is a tag</p>"
        assert stored() == [moved, moved, "<p>Plain</p>"]
        downgrade(revision="0043")
        back = "<h3>Steps</h3><h4>If not</h4><h5>Deep</h5><h5>Deepest</h5><p>&lt;h3&gt; is a tag</p>"
        assert stored() == [back, back, "<p>Plain</p>"]
        db.session.remove()
        db.engine.dispose()


def test_older_money_messages_are_hidden_from_subscribers_like_new_ones(empty_database_url, tmp_path):
    """Migration 0049: the system messages about money written before they had their own source
    (a refund, an agent's lowering, the reopening after a refund) get the source "credits", which
    only those who may see the ticket's charges read; other system messages, even one quoting a
    subject about refunds, and people's messages keep theirs; the downgrade gives "system" back."""
    from sqlalchemy import text

    app = create_app(make_test_config(empty_database_url, str(tmp_path)))
    bodies = [
        ("The response target for Urgent priority was missed, so the 250 credits paid for it have been "
         "refunded to your bank.", "system"),
        ("This ticket was closed before anyone answered it, so the 150 credits paid for High priority "
         "have been refunded to your bank.", "system"),
        ("The support team lowered this ticket from Urgent to Normal priority, so the 250 credits paid "
         "above Normal have been refunded to Acme Ltd's bank.", "system"),
        ("This ticket was reopened after the credits paid for Urgent priority were refunded, so it is back "
         "at Normal priority. Raise its priority again for a faster answer.", "system"),
        ("This ticket was merged into #7 (Why have my credits been refunded to your bank.): the "
         "conversation continues there.", "system"),
        ("This is a follow-up of ticket #3 (The credits have been refunded to your bank.), which was "
         "closed.", "system"),
        ("My 250 credits have been refunded to your bank.", "web"),
    ]  # fmt: skip
    with app.app_context():
        upgrade(revision="0048")
        with db.engine.begin() as conn:
            for statement in (
                *A_CUSTOMER_A_CATEGORY_A_PRIORITY,
                a_ticket("It jams"),
            ):
                conn.execute(text(statement))
            for body, source in bodies:
                conn.execute(
                    text(
                        "INSERT INTO messages (ticket_id, body, internal, source, created_at) "
                        "SELECT id, :body, false, :source, CURRENT_TIMESTAMP FROM tickets"
                    ),
                    {"body": body, "source": source},
                )

        def sources():
            with db.engine.connect() as conn:
                return list(conn.execute(text("SELECT source FROM messages ORDER BY id")).scalars())

        upgrade(revision="0049")
        assert sources() == ["credits", "credits", "credits", "credits", "system", "system", "web"]
        downgrade(revision="0048")
        assert sources() == ["system"] * 6 + ["web"]
        db.session.remove()
        db.engine.dispose()


def test_the_search_prefix_indexes_keep_every_document_both_ways(tmp_path):
    """Migration 0052 makes SQLite's ticket search tables again with prefix indexes: the documents
    already there are still found, the triggers write to the new tables, and the downgrade keeps
    them too. (PostgreSQL has nothing to change: its pass runs this on SQLite as well.)"""
    from sqlalchemy import select, text

    from helpdesk.tickets import search
    from helpdesk.tickets.models import Message, Ticket
    from tests import factories

    app = create_app(make_test_config(f"sqlite:///{tmp_path}/prefix.sqlite3", str(tmp_path)))
    with app.app_context():
        upgrade(revision="0051")  # 0052 changes only the FTS5 tables; messages as 0051 has them
        ticket = factories.ticket(subject="Printer jams", body="On the second floor.")
        for body, internal in (("Reply from Paris", False), ("Note about zanzibar", True)):
            db.session.execute(
                text(
                    "INSERT INTO messages (ticket_id, body, internal, source, created_at)"
                    " VALUES (:ticket, :body, :internal, 'web', CURRENT_TIMESTAMP)"
                ),
                {"ticket": ticket.id, "body": body, "internal": internal},
            )
        db.session.commit()
        ticket_id = ticket.id

        def found(query, include_internal=True):
            db.session.rollback()
            condition = search.ticket_condition(query, include_internal=include_internal)
            return db.session.scalars(select(Ticket.subject).where(condition)).all()

        def table_sql():
            with db.engine.connect() as conn:
                return (
                    conn.execute(
                        text(
                            "SELECT sql FROM sqlite_master WHERE name IN ('tickets_fts_all', 'tickets_fts_public')"
                        )
                    )
                    .scalars()
                    .all()
                )

        assert found("pr pa") == found("z") == ["Printer jams"] and found("z", False) == []
        db.session.remove()
        upgrade()
        assert all("prefix='1 2 3'" in sql for sql in table_sql()) and len(table_sql()) == 2
        assert found("pr pa") == found("sec") == found("z") == ["Printer jams"] and found("z", False) == []
        db.session.add(Message(ticket_id=ticket_id, body="Quokka sighted", internal=False))
        db.session.commit()
        assert found("quo", False) == ["Printer jams"]  # the triggers write to the new tables
        db.session.remove()
        downgrade(revision="0051")
        assert not any("prefix" in sql for sql in table_sql())
        assert found("quo pa", False) == found("z") == ["Printer jams"]
        db.session.remove()
        db.engine.dispose()


def test_messages_written_before_the_sequence_number_as_their_ids_did(empty_database_url, tmp_path):
    """Migration 0055: every message already there gets its id as its sequence (the order an API
    client read by `after`), so `after_sequence` goes on from a cursor taken by id; a message
    written afterwards numbers after them; the downgrade drops the column."""
    from sqlalchemy import text

    from helpdesk.tickets.models import Message

    app = create_app(make_test_config(empty_database_url, str(tmp_path)))
    with app.app_context():
        upgrade(revision="0054")
        with db.engine.begin() as conn:
            for statement in (
                *A_CUSTOMER_A_CATEGORY_A_PRIORITY,
                a_ticket("It jams"),
                *(
                    "INSERT INTO messages (ticket_id, body, internal, source, created_at) "
                    f"SELECT id, 'Reply {n}', false, 'web', CURRENT_TIMESTAMP FROM tickets"
                    for n in (1, 2)
                ),
            ):
                conn.execute(text(statement))

        def numbers():
            with db.engine.connect() as conn:
                return conn.execute(text("SELECT id, sequence FROM messages ORDER BY id")).all()

        upgrade()
        assert [tuple(row) for row in numbers()] == [(1, 1), (2, 2)]
        ticket_id = db.session.scalar(text("SELECT id FROM tickets"))
        db.session.add(Message(ticket_id=ticket_id, body="Reply 3", internal=False))
        db.session.commit()
        assert numbers()[-1].sequence == 3
        db.session.remove()
        downgrade(revision="0054")
        with db.engine.connect() as conn:
            assert "sequence" not in conn.execute(text("SELECT * FROM messages")).keys()
        db.engine.dispose()
