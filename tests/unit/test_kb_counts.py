"""Views and searches counted in batches (kb/counts.py): kept in memory until due, written with
one upsert each, added to what the database has, put back when a write fails."""

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.kb import counts
from helpdesk.kb.models import ArticleDay, SearchCount
from tests import kb_support as kb


@pytest.fixture(autouse=True)
def empty_batch(app, monkeypatch):
    """The app outlives the test: start and end with nothing waiting."""
    monkeypatch.setitem(app.config, "KB_COUNT_SECONDS", 0)
    counts.due()
    yield
    app.config["KB_COUNT_SECONDS"] = 0
    counts.due()


@pytest.fixture
def item(make, ref):
    return kb.write(make.admin(), ref.categories["IT"], "Printer offline")


def test_counts_wait_for_their_time_or_their_number(app, monkeypatch, item, make):
    monkeypatch.setitem(app.config, "KB_COUNT_SECONDS", 3600)
    monkeypatch.setitem(app.config, "KB_COUNT_BATCH", 4)
    counts.count_read(item, make.customer())
    counts.count_read(item, None)
    counts.count_read(item, make.admin())  # agents are not counted
    counts.count_search(["printer"], None, True)
    assert counts.due() is None
    counts.count_search(["printer"], None, False)
    batch = counts.due()
    assert list(batch.views.values()) == [2]
    assert [(key[1:], value[:2]) for key, value in batch.searches.items()] == [(("printer", 0), (2, 1))]
    assert counts.due() is None  # taken: the next batch starts empty
    counts.write(batch)
    counts.write(batch)  # added to what is there
    assert db.session.scalar(select(ArticleDay.views)) == 4
    assert db.session.execute(select(SearchCount.searches, SearchCount.empty)).one() == (4, 2)


def test_a_batch_that_could_not_be_written_is_put_back(app, monkeypatch, item):
    monkeypatch.setitem(app.config, "KB_COUNT_SECONDS", 3600)
    counts.count_read(item, None)
    counts.count_search(["zebra"], 0, False)
    monkeypatch.setitem(app.config, "KB_COUNT_SECONDS", 0)
    counts.give_back(counts.due())
    counts.count_read(item, None)
    again = counts.due()
    assert list(again.views.values()) == [2]
    assert [value[:2] for value in again.searches.values()] == [(1, 1)]


def test_apps_keep_their_own_counts(app, item, tmp_path):
    from helpdesk import create_app

    other = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/other.sqlite3", "KB_COUNT_SECONDS": 60}
    )
    with other.app_context():
        counts.count_read(item, None)
    assert counts.due() is None  # the other app's count is not this app's
    with other.app_context():
        other.config["KB_COUNT_SECONDS"] = 0
        assert list(counts.due().views.values()) == [1]
