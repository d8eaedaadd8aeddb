"""HTTP conditional GET (RFC 9110 13.1.2): pages whose ETag fingerprints everything they show.

A page built as plain values (the queue's rows, the ticket page's read models) answers with an
ETag computed from those values, read from the database on every request, and answers
304 Not Modified (no rendering, no body) when the browser's copy carries the same ETag in
If-None-Match. Because the fingerprint is made of what the database says now, it is the same on
every app server and changes with the first request after any change to what the page shows.

What goes into the fingerprint (`page_etag`):
- every value the view hands to the template (`shown`): they must be plain data (str, numbers,
  dates, tuples, lists, dicts, dataclasses of these); anything else (an ORM object, which could
  load more while rendering) is refused with TypeError, so nothing the page shows can escape it;
- the layout the page is rendered in (navigation with its counts, banners), for full pages;
- the words of every moment in `shown` as the `moment` filter writes them now ("3 min ago"): a
  page whose relative times would read differently is rendered again, one whose would not (an
  old ticket's "yesterday") still answers 304;
- the viewer: who they are, their role and time zone (times are shown in it, "today" depends on
  it), and a digest of their session's CSRF secret (the page embeds tokens made from it);
- whether the request is htmx's (a fragment) and the URL;
- the deployment: a digest of the application's code, templates and settings, taken once per
  process, so a new release never answers 304 with an old page's markup.

The hash is keyed with SECRET_KEY: an ETag reveals nothing about what it fingerprints.
A page that shows flash messages carries no ETag (showing them consumes them).
"""

import functools
import hashlib
import io
import pickle
from dataclasses import is_dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path

from flask import current_app, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from helpdesk.htmx import is_htmx
from helpdesk.web import moment_words, relative_label, request_now, user_zone

PLAIN = (tuple, list, dict, str, Markup, int, float, bool, type(None), bytes, datetime, date, time, timedelta)
PLAIN += (Decimal, type(UTC))  # the UTC time zone object of aware datetimes


class NotPlainData(TypeError):
    """A page's fingerprint was asked to cover something that is not plain data."""


_KNOWN = {}  # type -> whether its instances are plain data (checked once per type)


def _plain_type(kind):
    known = _KNOWN.get(kind)
    if known is None:
        known = _KNOWN[kind] = issubclass(kind, PLAIN) or is_dataclass(kind) or issubclass(kind, type)
    return known


class _PlainPickler(pickle.Pickler):
    """pickle, refusing anything but plain values. Equal bytes mean equal values; equal values
    give equal bytes as long as they are shared alike (pickle's memo), which the same code on the
    same rows does, in every process. With `moments` (a list), every aware datetime it pickles is
    appended to it, in the order pickled: the page's fingerprint reads the moments it holds in the
    same pass that pickles them."""

    moments = None

    def reducer_override(self, obj):
        kind = type(obj)
        if _plain_type(kind):
            if self.moments is not None and kind is datetime and obj.tzinfo is not None:
                self.moments.append(obj)
            # pickled as usual: a dataclass by its fields (each checked in turn), a class by name
            return NotImplemented
        raise NotPlainData(f"a page's ETag covers plain data only, not {kind.__qualname__}")


def _pickled_moments(pickler, value):
    """Pickle `value` with `pickler`, returning the aware datetimes it pickled, in that order (a
    moment that is the same object as one before it is pickled once, as a reference)."""
    pickler.moments = []
    try:
        pickler.dump(value)
        return pickler.moments
    finally:
        pickler.moments = None


def moments_of(value):
    """The aware datetimes in the plain data `value`, in the order a page's fingerprint pickles them."""
    return _pickled_moments(_PlainPickler(io.BytesIO(), protocol=5), value)


# Libraries whose upgrade can change a page's markup for the same data (Markdown and its
# sanitiser, the template engine, the CSRF tokens' format).
RENDERING_LIBRARIES = ("Markdown", "nh3", "Jinja2", "MarkupSafe", "jinja2-fragments", "Flask", "Werkzeug")
RENDERING_LIBRARIES += ("Flask-WTF", "WTForms", "itsdangerous")


@functools.cache
def _code_digest(root):
    """The application's Python code and templates, and the rendering libraries' versions, read
    once per process."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(root).rglob("*")):
        if path.suffix in (".py", ".html", ".txt") and path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for name in RENDERING_LIBRARIES:
        digest.update(f"{name}=={metadata.version(name)}\0".encode())
    return digest.hexdigest()


def _deployment(app):
    """What a release is: the code, templates and rendering libraries, and the settings (any
    change gives new ETags)."""
    found = app.extensions.get("helpdesk_deployment")
    if found is None:
        settings = sorted((k, repr(v)) for k, v in app.config.items() if isinstance(v, PLAIN))
        found = app.extensions["helpdesk_deployment"] = (_code_digest(app.root_path), repr(settings))
    return found


def _viewer():
    user = current_user._get_current_object()
    secret = session.get("csrf_token") or ""
    return (
        user.get_id() if user.is_authenticated else None,
        getattr(user, "name", None),
        getattr(user, "role", None),
        getattr(user, "timezone", None),
        hashlib.blake2b(str(secret).encode(), digest_size=16).hexdigest(),
    )


def relative_words(moments, now, zone, memo=None, today=None):
    """The relative words ("42 min ago") of each of `moments`, in order. `memo` ({datetime:
    words}, web.moment_words) keeps each one for the page's `moment` filters; `today` is now's
    date in `zone`, if the caller has it."""
    if memo is None:
        memo = {}
    found = []
    if today is None:
        today = now.astimezone(zone).date()
    for moment in moments:
        words = memo.get(moment)
        if words is None:
            words = memo[moment] = relative_label(moment, now, zone, today)
        found.append(words)
    return found


def page_etag(layout, *shown):
    """The ETag of the page this request would render from `shown` in `layout`: one pickling pass
    over `shown` that also collects its moments, then their relative words and the rest."""
    app = current_app._get_current_object()
    zone, now = user_zone(), request_now()
    today = now.astimezone(zone).date()
    buffer = io.BytesIO()
    pickler = _PlainPickler(buffer, protocol=5)
    words = relative_words(_pickled_moments(pickler, shown), now, zone, moment_words(), today)
    pickler.clear_memo()  # the rest is pickled on its own, as it is whatever `shown` holds
    pickler.dump((_deployment(app), _viewer(), is_htmx(), request.full_path, today, words, layout))
    key = str(app.config["SECRET_KEY"]).encode()[:64]
    return hashlib.blake2b(buffer.getvalue(), digest_size=16, key=key).hexdigest()


def conditional_page(render, layout, *shown):
    """Answer this GET with 304 Not Modified when the browser's copy has the ETag of `shown`
    (see page_etag), else with `render()` carrying that ETag. The response is marked to be
    revalidated on every use (web.security_headers: `private, no-cache` instead of no-store)."""
    if request.method not in ("GET", "HEAD") or "_flashes" in session:
        return render()
    generate_csrf()  # the session's CSRF secret exists before the page is fingerprinted
    etag = page_etag(layout, *shown)
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
    else:
        response = render()
        if response.status_code != 200:
            return response
    response.set_etag(etag, weak=True)  # equal in content, not byte for byte (tokens differ)
    response.vary.add("HX-Request")
    response.revalidate = True
    return response
