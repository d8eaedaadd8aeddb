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


@pytest.fixture
def empty_database_url(tmp_path):
    with fresh_database(tmp_path) as url:
        yield url


def test_upgrade_from_empty_to_head_matches_the_models(empty_database_url, tmp_path):
    app = create_app(make_test_config(empty_database_url, str(tmp_path)))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn, warnings.catch_warnings():
            for name in SEARCH_INDEXES:  # PostgreSQL-only expression indexes: not compared on SQLite
                warnings.filterwarnings("ignore", f"autogenerate skipping .* index '{name}'")
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
