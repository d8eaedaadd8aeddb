"""Helpers for the knowledge-base tests: articles made through the services, files, addresses."""

import io
import signal
from contextlib import contextmanager

from flask import current_app

from helpdesk.extensions import db
from helpdesk.kb import articles, files, links
from helpdesk.kb.models import Article

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"x" * 64


def write(author, category, title, *, body=None, visibility="public", status="published", tags=""):
    """An article as `author` writes it (the service checks they may), in `status`."""
    item = articles.create_article(
        author,
        category_id=category.id,
        title=title,
        body=body or f"All about {title}.",
        visibility=visibility,
        tags=tags,
        publish=status == "published",
    )
    if status == "archived":
        articles.set_status(author, item, "published")
        articles.set_status(author, item, "archived")
    db.session.flush()
    return item


def attach(author, item, name="diagram.png", data=PNG, key="files-key-for-tests"):
    """Give the article one file through the upload checks."""
    files.stage(author, key, [(name, data)])
    files.attach_staged(author, item, key)
    db.session.flush()
    return item.files[-1]


def url(item, **params):
    """The article's address, /kb/<category>/<slug>."""
    with current_app.test_request_context():
        return links.article_url(item, **params)


def file_url(item, entry):
    with current_app.test_request_context():
        return links.file_url(item, entry)


def fresh(article_id):
    db.session.expire_all()
    return db.session.get(Article, article_id)


def upload(name, data):
    return (io.BytesIO(data), name)


@contextmanager
def returns_within(seconds):
    """Fail the block if it is still running after `seconds`: a watchdog for work that must be
    bounded, set far above what the block takes (a fraction of a second) and far below what the
    unbounded code took (minutes), so that it never fails on a slow machine, only on that code."""

    def stop(_signal, _frame):
        raise AssertionError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
