"""Request hooks, security headers, error pages and template filters shared by every blueprint."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, has_request_context, render_template, request, session, url_for
from flask_login import current_user
from flask_sqlalchemy.session import Session
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter, UnicodeConverter
from wtforms.widgets import HiddenInput

from helpdesk.errors import CONFLICT_TEXT, is_conflict
from helpdesk.extensions import db
from helpdesk.htmx import is_htmx
from helpdesk.money import format_money
from helpdesk.querying import column_rows
from helpdesk.rendering import user_html

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'; frame-ancestors 'none'"
)


MAX_ID = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL (ids, counts, amounts)


def _up_to(limit):
    """A regular expression matching the decimal numbers 0..limit (no sign, no leading zeros)."""
    digits = str(limit)
    parts = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        rest = len(digits) - i - 1
        low = "1" if i == 0 and len(digits) > 1 else "0"
        if int(digit) > int(low):
            top = str(int(digit) - 1)
            span = low if top == low else f"[{low}-{top}]"
            parts.append(digits[:i] + span + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class DatabaseId(IntegerConverter):
    """`<int:…>` in every route: only 0..MAX_ID match (in the pattern itself, so the route is no
    match at all, 404 for every method), never a query that fails (PostgreSQL: out of range;
    SQLite: Python int too large)."""

    regex = _up_to(MAX_ID)

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class PrintableText(UnicodeConverter):
    """`<name>` and `<string:name>` in every route: a segment holding a control character (NUL,
    which PostgreSQL refuses in text: a 500) matches no route, 404 for every method."""

    def __init__(self, url_map, minlength=1, maxlength=None, length=None):
        super().__init__(url_map, minlength=minlength, maxlength=maxlength, length=length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]")


_UNSTORABLE = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


def clean_text(value):
    """Text without NUL and the other C0 control characters but tab and newlines: PostgreSQL
    refuses NUL in text, and none of them means anything in a help desk's fields."""
    return value.translate(_UNSTORABLE) if isinstance(value, str) else value


class CleanInput(ImmutableMultiDict):
    """The storage of query strings and form fields: every text value cleaned on arrival, so no
    view or form has to remember it (files are left as they are)."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
            return
        items = mapping.items(multi=True) if isinstance(mapping, MultiDict) else mapping
        super().__init__([(clean_text(key), clean_text(value)) for key, value in items])


def clean_request_class(base):
    """`base` (Flask's, or htmx-flask's HtmxAwareRequest) with cleaned query strings and forms."""
    return type("CleanRequest", (base,), {"parameter_storage_class": CleanInput})


def register_converters(app):
    """Before any blueprint is registered: rules resolve their converters when added."""
    app.url_map.converters["int"] = DatabaseId
    app.url_map.converters["default"] = app.url_map.converters["string"] = PrintableText


WROTE = "helpdesk_wrote"  # session.info key: this transaction sent a write to the database


@event.listens_for(Session, "after_flush")
def _flushed(session, _context):
    session.info[WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state):
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session, transaction):
    if transaction.parent is None:
        session.info.pop(WROTE, None)


def register_web_hooks(app):
    app.request_class = clean_request_class(app.request_class)  # after extensions set theirs

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.headers.get("HX-Request"):
            response.vary.add("HX-Request")
        if request.endpoint != "static" and "_user_id" in session:
            # A signed-in page or fragment: never kept by the browser or a proxy (the back button
            # after logging out on a shared computer shows nothing), except a page with an ETag
            # (conditional.py): the browser may keep it, for its user only, and must ask again
            # before every use (If-None-Match). See README, Security.
            if getattr(response, "revalidate", False):
                response.headers["Cache-Control"] = "private, no-cache"
            else:
                response.headers["Cache-Control"] = "private, no-store"
            response.vary.add("Cookie")
        if current_app.config.get("HSTS_SECONDS"):
            response.headers["Strict-Transport-Security"] = (
                f"max-age={current_app.config['HSTS_SECONDS']}; includeSubDomains"
            )
        return response

    @app.teardown_request
    def end_transaction(exc):
        """A request that failed leaves nothing behind (ROLLBACK; so does one that wrote without
        committing, when Flask-SQLAlchemy removes the session). A request that only read ends
        with COMMIT: psycopg drops every prepared statement of the connection on ROLLBACK (it
        cannot know what the transaction undid), so read-only pages ending in ROLLBACK had
        PostgreSQL plan every query afresh, on every request."""
        if exc is not None:
            db.session.rollback()
        elif not db.session.info.get(WROTE) and db.session().in_transaction():
            db.session.commit()

    register_layout_context(app)
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DBAPIError, _database_error)


ERROR_TEXT = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You may not do this."),
    404: ("Not found", "There is nothing here, or you do not have access to it."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    413: (
        "Files too large",
        "Nothing was sent: the files together were larger than the server accepts. Go back with "
        "your browser's Back button (your text is still in the form), then attach fewer or smaller files.",
    ),
    429: ("Too many requests", "Slow down and try again in a moment."),
    500: ("Something went wrong", "The error was logged. Please try again."),
}


def _error_page(error):
    renderer = _error_renderer()
    if renderer is not None:
        return renderer(error)
    code = getattr(error, "code", 500) or 500
    if code == 500:
        db.session.rollback()
    title, text = ERROR_TEXT.get(code, ERROR_TEXT[500])
    return render_template("core/error.html", code=code, title=title, text=text), code


# --- Error answers by address prefix (the REST API answers application/problem+json) ---------


def register_error_renderer(app, prefix, renderer):
    """Errors of requests under `prefix` (routing's 404 and 405 included) are answered by
    `renderer(error)` instead of the HTML error page."""
    app.extensions.setdefault("error_renderers", []).append((prefix, renderer))


def _error_renderer():
    for prefix, renderer in current_app.extensions.get("error_renderers", ()):
        if request.path.startswith(prefix):
            return renderer
    return None


# ---------------------------------------------------------------------------------------------


def _database_error(error):
    """A lost race outside `perform` (a lock timeout, a deadlock): 409 with what to do; anything
    else is a bug and stays a 500 (logged by Flask)."""
    db.session.rollback()
    if not is_conflict(error):
        raise error
    return render_template("core/error.html", code=409, title="Changed meanwhile", text=CONFLICT_TEXT), 409


def _csrf_error(error):
    text = "Your form expired or was sent from another site. Reload the page and try again."
    return render_template("core/error.html", code=400, title="Form expired", text=text), 400


def page_number(args):
    """A safe page number from the query string: 1 when absent or nonsense."""
    page = args.get("page", "1")
    # isascii: "²" and other Unicode digits are isdigit() but not int()'s (a 500 on every list)
    return int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 100000 else 1


def paginate(query, *, page=None, per_page=None):
    """One page of `query` for a list: the page from the query string unless given, PER_PAGE rows
    unless given; a page past the end is an empty page, not an error."""
    return db.paginate(
        query,
        page=page or page_number(request.args),
        per_page=per_page or current_app.config["PER_PAGE"],
        error_out=False,
    )


@dataclass(frozen=True)
class Page:
    """One page of a list as plain values, shaped like Flask-SQLAlchemy's pagination for the
    templates' `pagination` macro: for lists whose page is fingerprinted by an ETag
    (conditional.py takes plain data only) or read by hand (a search, a panel's entries)."""

    items: tuple | list
    page: int
    per_page: int
    total: int

    @property
    def pages(self):
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def prev_num(self):
        return self.page - 1

    @property
    def next_num(self):
        return self.page + 1


def public_url(endpoint, **values):
    """An absolute link under PUBLIC_URL, built without a request (workers and CLI send mail too)."""
    base = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def safe_next(target):
    """Only local paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def user_zone():
    """The viewer's time zone, looked up once per request (lists format many times per page)."""
    if has_request_context() and hasattr(request, "_helpdesk_zone"):
        return request._helpdesk_zone
    user = current_user._get_current_object()  # the proxy looks the user up at every read
    tz = getattr(user, "timezone", None) if user and user.is_authenticated else None
    try:
        zone = ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    if has_request_context():
        request._helpdesk_zone = zone
    return zone


def format_datetime(value, fmt="%Y-%m-%d %H:%M"):
    """A UTC datetime shown in the viewer's time zone."""
    if value is None:
        return ""
    return value.astimezone(user_zone()).strftime(fmt)


def request_now():
    """The current time, read once per request: every moment of a page is measured from the same
    instant (and a page costs one clock read, not one per time shown)."""
    if not has_request_context():
        return datetime.now(UTC)
    now = getattr(request, "_helpdesk_now", None)
    if now is None:
        now = request._helpdesk_now = datetime.now(UTC)
    return now


MINUTE, HOUR = 60, 3600
HOURS_SHOWN = 12  # within this many hours a moment reads "3 h ago"; further away, by calendar day


def relative_label(value, now, zone, today=None):
    """How long ago or ahead `value` is, in words: "just now", "in under a minute", "42 min ago",
    "in 3 h", "yesterday", "tomorrow", "3 days ago", "in 5 days", then the date ("12 Nov", with the
    year when it is not this one). Days are counted on the calendar of `zone` (the viewer's);
    `today` is now's date there, if the caller has it (a page's many moments share it)."""
    seconds = (value - now).total_seconds()
    future, span = seconds > 0, abs(seconds)
    if span < MINUTE:
        return "in under a minute" if future else "just now"
    if span < HOUR:
        minutes = int(span // MINUTE)
        return f"in {minutes} min" if future else f"{minutes} min ago"
    local = value.astimezone(zone)
    if today is None:
        today = now.astimezone(zone).date()
    days = (local.date() - today).days
    if span < HOURS_SHOWN * HOUR or days == 0:
        hours = int(span // HOUR)
        return f"in {hours} h" if future else f"{hours} h ago"
    if days == -1:
        return "yesterday"
    if days == 1:
        return "tomorrow"
    if -7 < days < 7:
        return f"in {days} days" if future else f"{-days} days ago"
    if local.year == today.year:
        return f"{local.day} {_MONTH_NAMES[local.month - 1]}"
    return f"{local.day} {_MONTH_NAMES[local.month - 1]} {local.year}"


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def moment_words():
    """This request's relative words by moment ({datetime: "3 min ago"}), or None outside a
    request: a page with an ETag works them out for its fingerprint (conditional.relative_words)
    and its `moment` filters reuse them instead of working each out again. The words depend only
    on the moment, the request's clock and the viewer's zone, which are fixed for a request."""
    if not has_request_context():
        return None
    memo = getattr(request, "_helpdesk_words", None)
    if memo is None:
        memo = request._helpdesk_words = {}
    return memo


def exact_label(value, zone):
    """The exact moment in `zone`: "Wed 2 Dec 2026, 19:52 GMT". The names are English whatever
    the process's locale, and built without strftime (three calls of it cost 4x this)."""
    local = value.astimezone(zone)
    return (
        f"{_DAY_NAMES[local.weekday()]} {local.day} {_MONTH_NAMES[local.month - 1]} {local.year}, "
        f"{local.hour:02d}:{local.minute:02d} {local.tzname()}"
    )


def moment(value):
    """A moment as people read it (the `moment` filter): <time> with the relative words ("3 h ago"),
    the exact time in the viewer's time zone as its title (on hover) and, for screen readers, as
    visually hidden text; app.js refreshes the words every minute, without the network."""
    if value is None:
        return ""
    zone = user_zone()
    exact = exact_label(value, zone)
    memo = moment_words()
    words = memo.get(value) if memo is not None else None
    if words is None:
        words = relative_label(value, request_now(), zone)
    # datetime_attr's value, written out: a queue page has fifty moments
    stamp = (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat(timespec="seconds")
    return Markup(
        f'<time datetime="{stamp}" title="{exact}" data-relative>{words}'
        f'<span class="visually-hidden"> ({exact})</span></time>'
    )


def datetime_attr(value):
    """A moment as a <time datetime="..."> value: UTC, to the second ("2026-12-04T21:36:14+00:00").
    isoformat() alone wrote microseconds, which HTML's syntax does not take (three digits at most).
    A date is its ISO date ("2026-12-25")."""
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat(timespec="seconds")


def hidden_fields(form):
    """form.hidden_tag() with the CSRF token's input drawn without an id: a page with two WTForms
    forms had two elements with id="csrf_token". The other hidden inputs keep theirs."""
    return Markup(
        "\n".join(
            str(f(id=False) if f.type == "CSRFTokenField" else f())
            for f in form
            if isinstance(f.widget, HiddenInput)
        )
    )


def without_placeholder(field):
    """Whether `field` is a required one-line select whose first option is a choice, not a
    placeholder (value ""): HTML allows `required` on such a select only with a placeholder first.
    One that always has a choice made cannot be left empty and is drawn without `required`."""
    if field.type != "SelectField" or not field.flags.required:
        return False
    first = next(iter(field.iter_choices()), None)
    return first is not None and first[0] not in ("", None)


def due_label(value):
    """'15:30 today', '09:00 tomorrow' or 'Mon 24 Nov 15:30', in the viewer's time zone."""
    zone = user_zone()
    local, today = value.astimezone(zone), datetime.now(UTC).astimezone(zone).date()
    if local.date() == today:
        return f"{local:%H:%M} today"
    if (local.date() - today).days == 1:
        return f"{local:%H:%M} tomorrow"
    return f"{local:%a %d %b %H:%M}"


_GENERIC = (
    # WTForms' messages, which name no field, and what to say instead ({label}; {n} from the text).
    (re.compile(r"^This field is required\.$"), "{label} is required."),
    (
        re.compile(r"^Field cannot be longer than (\d+) characters?\.$"),
        "{label} can be at most {n} characters.",
    ),
    (
        re.compile(r"^Field must be at least (\d+) characters? long\.$"),
        "{label} needs at least {n} characters.",
    ),
    (re.compile(r"^Not a valid integer value\.?$"), "{label} must be a whole number."),
    (re.compile(r"^Not a valid (?:decimal|float) value\.?$"), "{label} must be a number."),
    (re.compile(r"^Not a valid date value\.?$"), "{label}: enter a date like 2026-12-31."),
    (re.compile(r"^Not a valid datetime value\.?$"), "{label}: enter a date and time like 2026-12-31 17:30."),
    (re.compile(r"^Not a valid time value\.?$"), "{label}: enter a time like 17:30."),
    (
        re.compile(r"^Field must be between (\d+) and (\d+) characters long\.$"),
        "{label} must be {n} to {m} characters long.",
    ),
    (re.compile(r"^Invalid URL\.$"), "{label}: enter an address like https://example.com/."),
    (re.compile(r"^Invalid email address\.$"), "{label}: enter an address like name@example.com."),
    # a select or radio group's value not offered (one choice), a multiple choice's (several)
    (
        re.compile(r"^(?:Not a valid choice|Invalid Choice: could not coerce)\.?$"),
        "{label}: choose one of the listed options.",
    ),
    (
        re.compile(
            r"^(?:Invalid choice\(s\): one or more data inputs could not be coerced"
            r"|'.*' (?:is not a valid choice|are not valid choices) for this field)\.?$"
        ),
        "{label}: choose from the listed options.",
    ),
    (re.compile(r"^Number must be at least (-?\d+)\.$"), "{label} must be at least {n}."),
    (re.compile(r"^Number must be at most (-?\d+)\.$"), "{label} can be at most {n}."),
    (re.compile(r"^Number must be between (-?\d+) and (-?\d+)\.$"), "{label} must be between {n} and {m}."),
)


def field_message(error, label):
    """A form error that names its field ("Subject is required.") instead of WTForms' generic
    "This field is required."; messages written by our forms pass unchanged."""
    for pattern, text in _GENERIC:
        match = pattern.match(str(error))
        if match:
            n, m = ([format_number(int(number)) for number in match.groups()] + ["", ""])[:2]
            return text.format(label=label, n=n, m=m)
    return error


def labelled_message(error, label):
    """A form error for a list of the form's errors away from its fields: field_message's
    sentence, or the form's own message after the field's name ("Start: pick a date")."""
    named = field_message(error, label)
    return named if named != error else f"{label}: {error}"


def field_errors(field, label=None):
    """A form field's errors as field_message writes them, named by `label` or the field's own."""
    return [field_message(error, label or field.label.text) for error in field.errors]


def format_number(value):
    """Whole numbers one way everywhere: 1,200 (never 1200); None as an empty string."""
    if value is None or value == "":
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def counted(value, noun, plural=None):
    """A count and its noun: "1 ticket", "1,200 tickets" (`plural` when it is not noun + "s")."""
    return f"{format_number(value)} {noun if value == 1 else plural or noun + 's'}"


def file_size(size):
    """A file's size as people read it: "820 bytes", "12.4 KB", "3.1 MB" (never "0.0 KB")."""
    if size < 1024:
        return counted(size, "byte")
    if size < 1024 * 1024:
        return f"{size / 1024:,.1f} KB"
    return f"{size / (1024 * 1024):,.1f} MB"


def request_csrf_token():
    """`csrf_token()` in templates: the request's CSRF token, made once by Flask-WTF's
    generate_csrf (which keeps it in `g`) and then read from there. generate_csrf looks its
    settings up again at every call, and a ticket page with its fourteen forms called it 14 times."""
    token = g.get("csrf_token")
    return token if token is not None else generate_csrf()


def register_template_filters(app):
    app.add_template_filter(field_message, "field_message")
    app.add_template_filter(labelled_message, "labelled_message")
    app.add_template_filter(format_number, "num")
    app.add_template_filter(counted, "counted")
    app.add_template_filter(file_size, "file_size")
    app.add_template_global(fixed_url, "fixed_link")  # not "link": pages pass a `link` of their own
    app.add_template_global(lambda filename: fixed_url("static", filename), "asset")
    app.add_template_global(url_prefix)
    app.add_template_filter(format_datetime, "dt")
    app.add_template_filter(due_label, "due")
    app.add_template_filter(moment, "moment")
    app.add_template_filter(datetime_attr, "datetime_attr")
    app.add_template_global(hidden_fields)
    app.add_template_global(without_placeholder)
    app.add_template_filter(user_html, "user_text")  # text|user_text(stored HTML, if kept)
    app.add_template_filter(format_money, "money")

    @app.template_filter("minutes")
    def minutes_label(total):
        total = int(total or 0)
        if total % 1440 == 0 and total >= 1440:
            days = total // 1440
            return f"{days} day" + ("s" if days != 1 else "")
        if total % 60 == 0 and total >= 60:
            hours = total // 60
            return f"{hours} h"
        return f"{total} min"


def register_banner(app, provider):
    """Add a banner provider: provider(user) -> list of {level, text, link, link_text}.

    Blueprints register theirs (seat check, low balance) so the base layout shows them all.
    """
    app.extensions.setdefault("helpdesk_banners", []).append(provider)


def register_nav(app, provider, order=50):
    """Add a navigation provider: provider(user) -> list of (label, endpoint) pairs."""
    app.extensions.setdefault("helpdesk_nav", []).append((order, provider))


def register_sidebar(app, provider, order=50):
    """Add a group to the agent console's sidebar: provider(user) -> list of groups, each a dict
    with the `template` that renders it and its plain values (the views with their counts)."""
    app.extensions.setdefault("helpdesk_sidebar", []).append((order, provider))


def register_top_link(app, provider, order=50):
    """Add to the agent console's top bar what an agent must act on: provider(user) -> list of
    {label, url, count, count_id}: `count` (None: filled in later by the element `count_id`)."""
    app.extensions.setdefault("helpdesk_top_links", []).append((order, provider))


def register_layout_count(app, name, applies, build, params=None):
    """Add a number the layout shows (an unread count in the navigation, a count in a banner).

    `build()` returns a scalar SELECT (called once, then reused), whose bind parameters
    `params(user)` fills in; `applies(user)` says whether this user's layout shows it. Every
    count a page needs is fetched in one query (see layout_count): a full page pays one round
    trip for its navigation and banners, however many domains add to them.
    """
    app.extensions.setdefault("helpdesk_layout_counts", {})[name] = (applies, build, params)


def layout_count(name):
    """A count registered with register_layout_count, for the signed-in user of this request;
    the first call fetches every count that applies to them in one query."""
    counts = getattr(request, "_helpdesk_counts", None)
    if counts is None:
        counts = request._helpdesk_counts = _fetch_layout_counts(current_user._get_current_object())
    return counts[name]


_COUNT_STATEMENTS = {}  # names -> the SELECT of those counts (a handful of combinations)


def _fetch_layout_counts(user):
    registered = current_app.extensions.get("helpdesk_layout_counts", {})
    names = tuple(name for name, (applies, _build, _params) in registered.items() if applies(user))
    if not names:
        return {}
    statement = _COUNT_STATEMENTS.get(names)
    if statement is None:
        parts = [registered[name][1]().label(name) for name in names]
        statement = _COUNT_STATEMENTS[names] = select(*parts)
    params = {}
    for name in names:
        fill = registered[name][2]
        if fill is not None:
            params.update(fill(user))
    return dict(column_rows(statement, params).one()._mapping)


def register_layout_context(app):
    app.context_processor(page_layout)


EMPTY_LAYOUT = {
    "nav_items": [],
    "banners": [],
    "admin_sections": [],
    "layout_values": {},
    "console": False,
    "sidebar": [],
    "top_links": [],
}


def page_layout():
    """Navigation and banners for the base layout (a template context processor): built once per
    full-page request. htmx fragments and e-mails never show the layout, so they cost no provider
    queries. Pages with an ETag fingerprint it (helpdesk/conditional.py)."""
    if not has_request_context() or is_htmx():
        return EMPTY_LAYOUT
    user = current_user._get_current_object()  # None outside a request
    if not (user and user.is_authenticated):
        return EMPTY_LAYOUT
    cached = getattr(request, "_helpdesk_layout", None)
    if cached is None:
        cached = request._helpdesk_layout = _layout_for(current_app._get_current_object(), user)
    return cached


def _provided(app, name, user):
    """What the providers registered under `name` give for `user`, in their order."""
    found = []
    for _order, provider in sorted(app.extensions.get(name, []), key=lambda p: p[0]):
        found.extend(provider(user))
    return found


def _layout_for(app, user):
    items = [
        {"label": label, "url": fixed_url(endpoint), "current": request.endpoint == endpoint}
        for label, endpoint in _provided(app, "helpdesk_nav", user)
    ]
    banners = []
    for provider in app.extensions.get("helpdesk_banners", []):
        banners.extend(provider(user))
    values = {name: provider() for name, provider in app.extensions.get("helpdesk_layout_values", {}).items()}
    layout = {
        "nav_items": items,
        "banners": banners,
        "admin_sections": [],
        "layout_values": values,
        "console": False,
    }
    if getattr(user, "is_agent", False):
        # The agent console: a top bar (search, what to act on, profile) and a sidebar (views,
        # the console's pages, and for admins the admin sections).
        layout["console"] = True
        layout["sidebar"] = _provided(app, "helpdesk_sidebar", user)
        layout["top_links"] = _provided(app, "helpdesk_top_links", user)
        if getattr(user, "is_admin", False):
            layout["admin_sections"] = admin_sections()
    else:
        layout["sidebar"] = layout["top_links"] = []
    return layout


def register_layout_value(app, name, provider):
    """Add something every full page shows outside navigation and banners (the desk's branding):
    provider() returns plain data, read once per request; pages with an ETag fingerprint it with
    the rest of the layout."""
    app.extensions.setdefault("helpdesk_layout_values", {})[name] = provider


def fixed_url(endpoint, filename=None, query=()):
    """url_for(endpoint) of a page that takes no arguments (navigation, the layout's links), or of
    a static file, or of a page with a fixed query string (`query`: (name, value) pairs, e.g. a
    built-in view of the queue): built once per application root instead of on every page (`link`
    and `asset` in templates). Only for URLs the code fixes: a cache keyed on what users send
    would grow without end."""
    urls = current_app.extensions.setdefault("helpdesk_fixed_urls", {})
    key = (endpoint, filename, query, request.script_root)
    url = urls.get(key)
    if url is None:
        if filename:
            url = url_for(endpoint, filename=filename)
        else:
            url = url_for(endpoint, **dict(query))
        urls[key] = url
    return url


def url_prefix(endpoint, argument):
    """The URL of `endpoint` up to its last path argument, e.g. "/agent/tickets/" for
    ("tickets_agent.ticket", "ticket_id"): a list links each row as prefix + id instead of paying
    a url_for per row. Built once per application root."""
    urls = current_app.extensions.setdefault("helpdesk_fixed_urls", {})
    key = (endpoint, argument, request.script_root)
    prefix = urls.get(key)
    if prefix is None:
        url = url_for(endpoint, **{argument: 1})
        if not url.endswith("/1"):
            raise ValueError(f"{endpoint}: {argument} is not the last part of its path")
        prefix = urls[key] = url[:-1]
    return prefix


def register_admin_section(app, label, endpoint, description, *, order=50, blueprint=None, endpoints=()):
    """Add a section to the admin home (/admin/) and to the section bar of every admin page.

    The section is current on its own pages: those of `blueprint`, or the listed `endpoints`.
    """
    section = {
        "label": label,
        "endpoint": endpoint,
        "description": description,
        "order": order,
        "blueprint": blueprint,
        "endpoints": frozenset(endpoints or (endpoint,)),
    }
    app.extensions.setdefault("helpdesk_admin_sections", []).append(section)


def admin_sections():
    """The admin sections in order, each with its URL and whether the current page belongs to it."""
    sections = sorted(current_app.extensions.get("helpdesk_admin_sections", []), key=lambda s: s["order"])
    return [
        {
            "label": s["label"],
            "description": s["description"],
            "url": fixed_url(s["endpoint"]),
            "current": request.blueprint == s["blueprint"] or request.endpoint in s["endpoints"],
        }
        for s in sections
    ]
