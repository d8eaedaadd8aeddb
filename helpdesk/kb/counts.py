"""Views and searches of the knowledge base, counted in batches.

Each process keeps its counts in memory and writes them (one upsert per article and day, or per
query, atomic on both databases: INSERT ... ON CONFLICT DO UPDATE) at the first request after
KB_COUNT_SECONDS (default 30) since the oldest count not yet written, or once KB_COUNT_BATCH
counts wait: reading a page is then not a write (a commit, an fsync) every time. A process that
stops loses at most those seconds of counts, and the report may be that late; a batch whose
transaction fails is put back for the next. KB_COUNT_SECONDS=0 writes every count at once (tests).
"""

import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from helpdesk import policy
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.kb.models import ArticleDay, SearchCount
from helpdesk.querying import upsert_insert


@dataclass
class Counts:
    """Counts not written yet: views per (article, day); per (day, query, category scope), the
    searches, those that found nothing, and the last one's time."""

    views: dict = field(default_factory=dict)
    searches: dict = field(default_factory=dict)
    since: float | None = None  # time.monotonic() of the oldest
    events: int = 0  # reads and searches counted

    def __len__(self):
        return len(self.views) + len(self.searches)


class _Pending:
    """One app's counts waiting to be written (apps of one process never mix their counts)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = Counts()

    def add(self, update):
        with self.lock:
            if self.counts.since is None:
                self.counts.since = time.monotonic()
            self.counts.events += 1
            update(self.counts)

    def take_if_due(self, seconds, batch):
        with self.lock:
            counts = self.counts
            if counts.since is None or (time.monotonic() - counts.since < seconds and counts.events < batch):
                return None
            self.counts = Counts()
            return counts


def _pending():
    return current_app.extensions.setdefault("kb_pending_counts", _Pending())


def count_read(article, viewer):
    """Count one read of `article` today (in the batch). Agents' reads are not counted (authors
    checking their work would otherwise make it "popular")."""
    if policy.is_agent(viewer):
        return
    key = (article.id, utcnow().date())

    def update(counts):
        counts.views[key] = counts.views.get(key, 0) + 1

    _pending().add(update)


def count_search(found_words, category_id, found_any, viewer=None):
    """Count one search for these words (in one category, or all: 0) today, and whether it found
    nothing (in the batch), by `viewer` (None: a visitor). Agents' searches are not counted, as
    their reads are not: looking up internal articles or testing the search would otherwise fill
    "searches that found nothing", the articles customers want written."""
    query = " ".join(found_words)[:200]
    if not query or policy.is_agent(viewer):
        return
    now = utcnow()
    key = (now.date(), query, category_id or 0)

    def update(counts):
        searches, empty, _last = counts.searches.get(key, (0, 0, now))
        counts.searches[key] = (searches + 1, empty + (0 if found_any else 1), now)

    _pending().add(update)


def due():
    """The counts to write now (taken from the batch), or None when they may wait."""
    config = current_app.config
    return _pending().take_if_due(config.get("KB_COUNT_SECONDS", 30), config.get("KB_COUNT_BATCH", 500))


def give_back(counts):
    """Put back counts whose transaction failed: the next write takes them along."""

    def update(pending):
        for key, views in counts.views.items():
            pending.views[key] = pending.views.get(key, 0) + views
        for key, (searches, empty, last) in counts.searches.items():
            before = pending.searches.get(key, (0, 0, last))
            pending.searches[key] = (before[0] + searches, before[1] + empty, max(before[2], last))

    _pending().add(update)


def write(counts):
    """Add a batch of counts to the database: one upsert per article and day, and per search."""
    insert = upsert_insert(db.session.get_bind().dialect.name)
    days = ArticleDay.__table__
    for (article_id, day), views in sorted(counts.views.items()):
        db.session.execute(
            insert(days)
            .values(article_id=article_id, day=day, views=views)
            .on_conflict_do_update(
                index_elements=[days.c.article_id, days.c.day], set_={"views": days.c.views + views}
            )
        )
    table = SearchCount.__table__
    for (day, query, scope), (searches, empty, last_at) in sorted(counts.searches.items()):
        db.session.execute(
            insert(table)
            .values(
                day=day, query=query, category_scope=scope, searches=searches, empty=empty, last_at=last_at
            )
            .on_conflict_do_update(
                index_elements=[table.c.day, table.c.query, table.c.category_scope],
                set_={
                    "searches": table.c.searches + searches,
                    "empty": table.c.empty + empty,
                    "last_at": last_at,
                },
            )
        )
    return len(counts)
