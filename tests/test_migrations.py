"""Migrations: an empty database upgrades to head, and the result matches the models exactly."""

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.models.search import SEARCH_INDEXES, include_name
from tests.conftest import fresh_database, make_test_config

NAME_INDEXES = ("uq_categories_lower_name", "uq_organizations_lower_name")


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
            for name in (*SEARCH_INDEXES, *NAME_INDEXES):
                warnings.filterwarnings("ignore", f"autogenerate skipping .* index '{name}'")
                warnings.filterwarnings(
                    "ignore", f"Skipped unsupported reflection of expression-based index {name}"
                )
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            )
            diff = compare_metadata(context, db.metadata)
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
    """The FTS5 tables and triggers are written twice (models/search.py, migration 0008): the same SQL."""
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
    assert {name for _, name, _ in migrated} >= {"tickets_fts", "messages_fts", "tickets_fts_update"}
    assert migrated == created


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
