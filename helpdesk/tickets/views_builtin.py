"""The agent console's views: named queue filters in the sidebar, each with its count.

A view is a queue URL (its query string), so it is bookmarkable and works without JavaScript;
its count is what the queue lists for it, under the same policy filter: the count's conditions
are the queue's own (`queue.CONDITIONS`, from the same QueueArgs -> QueueFilters -> shape path).
Every view of the sidebar is counted in one aggregate query over the viewer's active tickets
(`COUNT(*) FILTER (WHERE ...)` per view), built once per combination of shapes.

An agent's saved views (tickets.saved_views) follow the built-in ones in `views_for(user)` and
are counted the same way. A view that aggregate cannot count (a text search, or statuses outside
the active ones) is counted on its own with the queue's very WHERE (`queue._conditions`), up to
COUNT_CAP tickets ("1,000+" beyond).
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl

from sqlalchemy import func, literal_column, select
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from werkzeug.datastructures import MultiDict

from helpdesk import policy
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.querying import indexed_by
from helpdesk.tickets import queue, queue_choices, saved_views
from helpdesk.tickets.forms import QueueArgs
from helpdesk.tickets.models import OPEN_STATUSES, Ticket


@dataclass(frozen=True)
class View:
    """A named queue filter: `args` are the queue's query-string parameters, as (name, value)."""

    key: str
    label: str
    args: tuple = ()
    saved_id: int | None = None  # an agent's saved view (tickets.saved_views)

    def queue_args(self):
        return QueueArgs(MultiDict(self.args))


BUILT_IN = (
    View("attention", "Needs attention"),  # the queue's default: every active ticket, by urgency
    View("mine", "Mine", (("assignee", "me"),)),
    View("unassigned", "Unassigned", (("assignee", "unassigned"),)),
    View("waiting", "Waiting on customer", (("status", "waiting"),)),
    View("at_risk", "At risk", (("risk", "1"),)),
)
AT_RISK = "at_risk"


def views_for(user):
    """The views in `user`'s sidebar, in order: the built-in ones, then their saved views."""
    return BUILT_IN + tuple(saved_view(v) for v in saved_views.views_of(user))


def saved_view(row):
    """A SavedView row as a View (its query string read back as the queue's arguments)."""
    return View(f"saved-{row.id}", row.name, tuple(parse_qsl(row.query)), saved_id=row.id)


def current_view(views, args):
    """The key of the view whose queue URL is `args` (the request's query string; paging kept
    out), or None: a queue filtered by hand is no view."""
    asked = QueueArgs(args).as_args()
    for view in views:
        if view.queue_args().as_args() == asked:
            return view.key
    return None


# The active statuses written into the SQL (no bind parameters), so that both databases can prove
# the query matches the partial index ix_tickets_active_views, which holds only active tickets
# and every column a view's condition reads: the counts never read the table itself. SQLite is told
# to read it (INDEXED BY): with sampled statistics it chose the narrower ix_tickets_category_status
# and looked every active ticket up in the table, 16 ms instead of 4 on the bench desk.
ACTIVE = Ticket.status.in_([literal_column(f"'{status}'") for status in OPEN_STATUSES])
SHARED = frozenset({"now", "viewer_id", "viewer_org"})  # the same value for every view


def _countable_parts(shape, values):
    """A view's conditions beyond visibility and 'active', or None when the aggregate over active
    tickets cannot count it (a search; a status filter other than active or one of them)."""
    parts = shape[1:]
    if None in parts:
        return None
    if "active" not in parts and values.get("status") not in OPEN_STATUSES:
        return None
    return tuple(p for p in parts if p != "active")


def _renamed(condition, prefix):
    """`condition` with its named bind parameters prefixed, so two views' values never collide
    in one statement (literal values and the shared parameters are kept)."""

    def replace(element):
        if (
            isinstance(element, BindParameter)
            and element.value is None
            and element.callable is None
            and element.key not in SHARED
        ):
            return BindParameter(prefix + element.key, type_=element.type)
        return None

    return visitors.replacement_traverse(condition, {}, replace)


_STATEMENTS = {}  # (visibility shape, each view's parts) -> the counting SELECT
MAX_STATEMENTS = 256


def _statement(visibility, parts):
    key = (visibility, parts)
    statement = _STATEMENTS.get(key)
    if statement is None:
        columns = []
        for n, view_parts in enumerate(parts):
            conditions = [_renamed(queue.CONDITIONS[p](), f"v{n}_") for p in view_parts]
            count = func.count().filter(*conditions) if conditions else func.count()
            columns.append(count.label(f"v{n}"))
        statement = indexed_by(
            select(*columns).where(policy.ticket_visibility_condition(visibility), ACTIVE),
            Ticket,
            "ix_tickets_active_views",
        )
        if len(_STATEMENTS) >= MAX_STATEMENTS:
            _STATEMENTS.clear()
        _STATEMENTS[key] = statement
    return statement


def view_counts(user, views, now=None, capped=None):
    """{view key: how many tickets the queue lists for it}, for `user`, in one query over the
    active tickets `user` may see; a view that query cannot count is counted on its own, up to
    COUNT_CAP + 1 (its key added to the set `capped`, if given, when it reaches that)."""
    now = now or utcnow()
    params, parts, counted = {"now": now}, [], []
    visibility = None
    criteria = _criteria_of(user, views)
    for view in views:
        shape, values = queue._shape(user, criteria[view.key])
        view_parts = _countable_parts(shape, values)
        if view_parts is None:
            continue
        visibility = shape[0]
        prefix = f"v{len(parts)}_"
        for name, value in values.items():
            params[name if name in SHARED else prefix + name] = value
        parts.append(view_parts)
        counted.append(view.key)
    counts = dict.fromkeys(view.key for view in views)
    if counted:
        row = db.session.execute(_statement(visibility, tuple(parts)), params).one()
        counts.update(zip(counted, row, strict=True))
    for view in views:
        if view.key not in counted:
            counts[view.key] = count_one(user, criteria[view.key], now)
            if capped is not None and counts[view.key] > COUNT_CAP:
                capped.add(view.key)
    return counts


COUNT_CAP = 1000  # a view counted on its own stops here (shown "1,000+")


def _criteria_of(user, views):
    """{view key: the queue's filters for it}, as the queue reads them for `user`: a category
    filter the agent may not use (a saved view of a category taken from them since) is dropped,
    as the queue drops it (agent_queue.queue_context), so the count is what the list shows."""
    args = {view.key: view.queue_args() for view in views}
    if any(a.category is not None for a in args.values()):
        allowed = {c.id for c in queue_choices.filter_choices(user)["categories"]}
        for a in args.values():
            if a.category is not None and a.category not in allowed:
                a.category = None
    return {key: a.criteria() for key, a in args.items()}


def count_one(user, filters, now):
    """How many tickets the queue lists for `filters` (at most COUNT_CAP + 1), with the queue's own
    WHERE for `user`: for the views the aggregate cannot count (a search, closed statuses)."""
    shape, values = queue._shape(user, filters)
    page = select(Ticket.id).where(*queue._conditions(shape, filters)).limit(COUNT_CAP + 1)
    counted = select(func.count()).select_from(page.subquery())
    return db.session.execute(counted, {**values, "now": now}).scalar_one()
