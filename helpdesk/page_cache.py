"""A short-lived cache of rendered agent pages, dropped by any write to the database.

The queue and the ticket page are the pages agents load most, and most loads find nothing
changed since the last one. A view marked `@cached_page` stores its rendered 200 answer for
`PAGE_CACHE_SECONDS` (default 10; 0 turns the cache off) under a key made of

- the database's *write generation*: a counter that every transaction that wrote anything moves
  on, whatever wrote it (a request, `flask credits sla-sweep`, the mail worker, a test fixture);
- the whole session (which user, their session token, the CSRF secret) and the request: path,
  query string, host, and every `HX-*` header (a table fragment is not the full page);

and answers a repeat with the stored body without loading the user or touching the database.

Why this is correct:
- A page is a function of the database, the session, the request and the clock. The key holds
  the first three. Deactivating a user, changing a permission, a reply, a credit movement: each
  is a write, so it moves the generation and no page rendered before it is served again.
- The generation is read *before* the page reads any data, and moved *after* the writer's
  commit (when its connection returns to the pool). So an entry can hold data newer than its
  generation, never older than a commit that finished before the entry was served.
- The clock: a view names the instant its page goes stale (`expires_at`, e.g. the next response
  due time on the page, when an "overdue" mark appears), and no entry outlives
  `PAGE_CACHE_SECONDS` in any case.
- Nothing is stored for a request that changed its session (a first CSRF token, a login), or
  served or stored while the session holds flash messages, or when the session no longer
  matches this browser (Flask-Login's session protection then takes the normal path).

The generation lives in a file in the instance folder, one byte appended per writing
transaction (its inode, size and change time are the counter: appends are atomic and a stat is
a few microseconds). Every process on the host shares it. At `ROTATE_AT` bytes the writer that
reached it renames a new empty file over it, so the file stays small; the new inode and change
time make a new generation. A filesystem may hand the old inode number out again, but inode,
size and change time repeat together only after two rotations within one tick of the file clock.

A write made from another host (a second web server or mail worker against the same PostgreSQL)
is not seen through the file: its pages can be up to `PAGE_CACHE_SECONDS` late, which is the
bound this cache promises. Run several web hosts with `PAGE_CACHE_SECONDS=0` if that is too much.
"""

import logging
import os
import secrets
import tempfile
import threading
from collections import OrderedDict
from time import monotonic

from flask import current_app, g, request, session
from flask_login.utils import _create_identifier
from sqlalchemy import event

from helpdesk.extensions import db

log = logging.getLogger(__name__)
READ_PREFIXES = ("SELECT", "PRAGMA", "SHOW", "SET", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT")
SKIPPED_HEADERS = {"set-cookie", "content-length", "date"}
ROTATE_AT = 1 << 20  # bytes of the generation file (a million writing transactions) before a new one

_cacheable = set()  # the view functions marked @cached_page


def cached_page(view):
    """Mark a GET view whose 200 answers may be cached (see the module's docstring)."""
    _cacheable.add(view)
    return view


def fresh_token():
    """A random token that must differ on every page shown (a form's resend key): a cached
    page gets a new one each time it is served."""
    token = secrets.token_urlsafe(24)
    if "page_cache_key" in g:
        g.page_cache_tokens.append(token)
    return token


def expires_at(seconds_from_now):
    """The page being rendered goes stale in this many seconds (e.g. a due time it shows)."""
    if "page_cache_key" in g and seconds_from_now is not None:
        g.page_cache_ttl = min(g.page_cache_ttl, max(0.0, seconds_from_now))


class WriteGeneration:
    """The host-wide counter of writing transactions, kept as a file's inode, size and change time.

    If the file cannot be written (disk full, folder removed), this process stops trusting it:
    every read then answers a generation never seen before, so nothing is served from the cache.
    """

    def __init__(self, path, rotate_at=ROTATE_AT):
        self.path = path
        self.rotate_at = rotate_at
        self.broken = False
        with open(path, "ab"):
            pass

    def read(self):
        if self.broken:
            return object()  # equal to nothing: every lookup misses
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:  # removed by hand: start again (every cached page is dropped)
            self.advance()
            return self.read()
        return stat.st_ino, stat.st_size, stat.st_ctime_ns

    def advance(self):
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, b".")
                full = os.fstat(fd).st_size >= self.rotate_at
            finally:
                os.close(fd)
            if full:
                self._rotate()
        except OSError:
            self.broken = True
            log.exception("page cache off in this process: cannot write %s", self.path)

    def _rotate(self):
        """Put a new empty file in place. A writer still appending to the old one has committed
        before it opened it, and every reader that stats the new one has a new inode in hand, so
        no page rendered before that commit can match; two writers rotating at once is harmless."""
        folder, name = os.path.split(self.path)
        fd, fresh = tempfile.mkstemp(prefix=name + ".", dir=folder or ".")
        os.close(fd)
        os.replace(fresh, self.path)


class PageCache:
    """Rendered pages of this process, for the current write generation only (LRU-bounded)."""

    def __init__(self, generation, seconds, max_entries):
        self.generation = generation
        self.seconds = seconds
        self.max_entries = max_entries
        self.entries = OrderedDict()
        self.seen = None
        self.lock = threading.Lock()  # for threaded workers; a sync worker never waits on it

    def lookup(self, key, now_generation):
        with self.lock:
            return self._lookup(key, now_generation)

    def store(self, key, generation, ttl, status, headers, body, tokens):
        with self.lock:
            self._store(key, generation, ttl, (status, headers, body, tokens))

    def _lookup(self, key, now_generation):
        if now_generation != self.seen:
            self.entries.clear()  # something was written: every page of the old generation is gone
            self.seen = now_generation
            return None
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry[0] <= monotonic():
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return entry

    def _store(self, key, generation, ttl, page):
        if generation != self.seen or ttl <= 0:
            return
        self.entries[key] = (monotonic() + ttl, *page)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)


def init_page_cache(app):
    seconds = float(app.config.get("PAGE_CACHE_SECONDS", 10))
    app.extensions["page_cache"] = None
    if seconds <= 0:
        return
    # One file for the instance folder, whatever the database: a write to another database only
    # costs this one a cache miss, never a stale page.
    path = app.config.get("PAGE_CACHE_GENERATION_FILE") or os.path.join(app.instance_path, "write-generation")
    generation = WriteGeneration(path)
    cache = PageCache(generation, seconds, int(app.config.get("PAGE_CACHE_MAX_ENTRIES", 500)))
    app.extensions["page_cache"] = cache
    with app.app_context():
        _watch_writes(db.engine, generation)
    app.before_request(_serve_cached)
    app.after_request(_store_rendered)


def _watch_writes(engine, generation):
    @event.listens_for(engine, "before_cursor_execute")
    def _mark_write(conn, _cursor, statement, _parameters, _context, _executemany):
        if not statement.lstrip()[:9].upper().startswith(READ_PREFIXES):
            conn.info["page_cache_wrote"] = True

    @event.listens_for(engine, "checkin")
    def _advance_after_commit(_dbapi_connection, record):
        if record.info.pop("page_cache_wrote", False):
            generation.advance()


def _key():
    """The request's cache key, or None when this request must take the normal path."""
    if request.method != "GET" or current_app.view_functions.get(request.endpoint) not in _cacheable:
        return None
    if "_user_id" not in session or "_flashes" in session:
        return None
    if session.get("_id") != _create_identifier():
        return None
    headers = tuple(sorted((k, v) for k, v in request.headers.items() if k.lower().startswith("hx-")))
    key = (request.host_url, request.full_path, headers, tuple(sorted(session.items())))
    try:
        hash(key)
    except TypeError:  # a session value that is a list or dict: not worth a slower key
        return None
    return key


def _serve_cached():
    cache = current_app.extensions["page_cache"]
    key = _key()
    if key is None:
        return None
    generation = cache.generation.read()
    entry = cache.lookup(key, generation)
    if entry is not None:
        _expires, status, headers, body, tokens = entry
        for token in tokens:
            body = body.replace(token, secrets.token_urlsafe(24).encode())
        return current_app.response_class(body, status=status, headers=headers)
    g.page_cache_key = key
    g.page_cache_generation = generation
    g.page_cache_ttl = cache.seconds
    g.page_cache_tokens = []
    return None


def _store_rendered(response):
    key = g.pop("page_cache_key", None)
    if key is None or response.status_code != 200 or session.modified or "_flashes" in session:
        return response
    if response.is_streamed or response.direct_passthrough:
        return response
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in SKIPPED_HEADERS]
    current_app.extensions["page_cache"].store(
        key,
        g.page_cache_generation,
        g.page_cache_ttl,
        response.status_code,
        headers,
        response.get_data(),
        tuple(token.encode() for token in g.page_cache_tokens),
    )
    return response
