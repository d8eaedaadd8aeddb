"""Migrations: an empty database upgrades to head, and the result matches the models exactly."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import fresh_database, make_test_config


@pytest.fixture
def empty_database_url(tmp_path):
    with fresh_database(tmp_path) as url:
        yield url


def test_upgrade_from_empty_to_head_matches_the_models(empty_database_url, tmp_path):
    app = create_app(make_test_config(empty_database_url, str(tmp_path)))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata
            )
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
