"""The agent queue: filtered, sorted, keyset-paginated tickets with every column loaded in one query."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased

from helpdesk import policy
from helpdesk.accounts.models import Organization, User
from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.formfields import MAX_ID, parse_id
from helpdesk.querying import column_rows, in_values, in_written, not_in_values, walking_index
from helpdesk.tickets import search, sla
from helpdesk.tickets.models import (
    OPEN_STATUSES,
    STATUS_LABELS,
    STATUS_NEW,
    STATUS_OPEN,
    STATUS_WAITING,
    STATUSES,
    Category,
    Priority,
    Ticket,
    TicketTag,
)

# Each sort of a column header runs both ways: the reversed one is its natural sort's statement
# walked backwards (the same indexes, read from the other end; keyset cursors of the same form).
REVERSED = {"due_desc": "due", "priority_asc": "priority", "updated_asc": "updated"}
SORTS = ("attention", "due", "priority", "updated", *REVERSED)


@dataclass(frozen=True)
class QueueFilters:
    """What the agent asked for; every value already has the right shape (the form checked it)."""

    status: str = "active"  # "active" (new, open, waiting), "all", or one status
    category_id: int | None = None
    priority_id: int | None = None
    assignee: str = "anyone"  # "anyone", "me", "unassigned" or an agent's id as digits
    overdue: bool = False
    at_risk: bool = False  # the ticket's clock is amber (at risk) or red (past due): the "At risk" view
    tag: str = ""
    q: str = ""
    sort: str = "attention"
    after: str = ""  # keyset cursor of the last row of the previous page
    before: str = ""  # keyset cursor of the first row of the next page (paging back); wins over `after`


@dataclass(frozen=True)
class QueueRow:
    """One row of the queue, as plain values (no ORM objects: a page costs one SELECT and no lazy loads)."""

    id: int
    subject: str
    requester: str
    organization: str | None
    category: str
    priority: str
    priority_id: int
    category_id: int
    status: str
    assignee: str | None
    due_at: datetime
    updated_at: datetime
    version: int
    overdue: bool
    tags: list
    first_response_at: datetime | None = None
    response_warn_at: datetime | None = None
    resolution_due_at: datetime | None = None
    resolution_warn_at: datetime | None = None
    paid_credits: int = 0
    rank: int | None = None  # the "Needs attention" group the row sorts in
    credits_spent: int = 0  # charges net of refunds (priority and time): the paid marker
    clock: object = None  # sla.Clock: which target the due column shows, and its state

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class QueuePage:
    rows: list
    next_cursor: str | None
    is_first: bool
    prev_cursor: str | None = None


def overdue_condition(now):
    """Open, not yet answered, and past its response due time."""
    return (
        in_values(Ticket.status, OPEN_STATUSES) & Ticket.first_response_at.is_(None) & (Ticket.due_at < now)
    )


def at_risk_condition(now):
    """The clock the queue shows (sla.clock) is at risk or past due: an unanswered open ticket
    past its reply-by warning, or an answered new or open one past its resolve-by warning."""
    replying = and_(Ticket.first_response_at.is_(None), in_values(Ticket.status, OPEN_STATUSES))
    resolving = and_(
        Ticket.first_response_at.isnot(None),
        in_written(Ticket.status, OPEN_STATUSES),  # implied by the next line; names the partial index
        in_values(Ticket.status, (STATUS_NEW, STATUS_OPEN)),
        Ticket.resolution_due_at.isnot(None),
    )
    return or_(
        and_(replying, or_(Ticket.response_warn_at <= now, Ticket.due_at <= now)),
        and_(resolving, or_(Ticket.resolution_warn_at <= now, Ticket.resolution_due_at <= now)),
    )


def is_overdue(ticket, now):
    return ticket.is_open and ticket.first_response_at is None and ticket.due_at < now


NOW = bindparam("now", type_=UTCDateTime())
CURSOR_KEY = bindparam("c_key", type_=UTCDateTime())
CURSOR_ID = bindparam("c_id", type_=Integer())


def _shape(actor, filters):
    """(shape, params): the conditions a queue page has, as names, and their values, without
    building any SQL. A statement built for one request serves every request of the same shape
    (see _statement); a search is not shaped (its words become the SQL: None in the shape)."""
    visibility, params = policy.ticket_visibility_shape(actor)
    shape = [visibility]
    if filters.status == "active":
        shape.append("active")
    elif filters.status in STATUSES:
        # A resolved or closed status is its own shape: "Needs attention" leaves out the groups
        # of open tickets (they cannot match), which both databases would otherwise walk in vain.
        # "Waiting on customer" is a shape of its own: "Needs attention" leaves out the resolve-by
        # group (new and open tickets only), which PostgreSQL, seeing a parameter, walked in vain.
        if filters.status == STATUS_WAITING:
            shape.append("waiting")
        else:
            shape.append("status" if filters.status in OPEN_STATUSES else "ended_status")
        params["status"] = filters.status
    for name, value in (("category_id", filters.category_id), ("priority_id", filters.priority_id)):
        if value:
            shape.append(name)
            params[name] = value
    if filters.assignee == "unassigned":
        shape.append("unassigned")
    elif filters.assignee == "me" or parse_id(filters.assignee):
        shape.append("assignee")
        params["assignee_id"] = actor.id if filters.assignee == "me" else int(filters.assignee)
    if filters.overdue:
        shape.append("overdue")
    if filters.at_risk:
        shape.append("at_risk")
    if filters.tag:
        shape.append("tag")
        params["tag"] = filters.tag.lower()
    if filters.q:
        shape.append(None)
    return tuple(shape), params


def _one_open_status():
    """One open status: the open statuses written out too, so SQLite may walk the active tickets'
    partial indexes (it refuses an INDEXED BY whose condition the WHERE does not imply)."""
    return and_(in_written(Ticket.status, OPEN_STATUSES), Ticket.status == bindparam("status"))


CONDITIONS = {
    # Written into the SQL: the active-ticket partial indexes (models.Ticket) carry this very list.
    "active": lambda: in_written(Ticket.status, OPEN_STATUSES),
    "status": _one_open_status,
    "waiting": _one_open_status,  # "Waiting on customer": the same condition, its own shape
    "ended_status": lambda: Ticket.status == bindparam("status"),
    "category_id": lambda: Ticket.category_id == bindparam("category_id"),
    "priority_id": lambda: Ticket.priority_id == bindparam("priority_id"),
    "unassigned": lambda: Ticket.assignee_id.is_(None),
    "assignee": lambda: Ticket.assignee_id == bindparam("assignee_id"),
    "overdue": lambda: overdue_condition(NOW),
    "at_risk": lambda: at_risk_condition(NOW),
    "tag": lambda: exists().where(TicketTag.ticket_id == Ticket.id, TicketTag.name == bindparam("tag")),
}


def _conditions(shape, filters):
    """The WHERE of a queue page of this shape: bind parameters in place of the viewer's and the
    filters' values (a search's words are written into the SQL)."""
    conditions = [policy.ticket_visibility_condition(shape[0])]
    for part in shape[1:]:
        if part is None:
            conditions.append(search.ticket_condition(filters.q, include_internal=True))
        else:
            conditions.append(CONDITIONS[part]())
    return conditions


Requester = aliased(User, name="requester")
Assignee = aliased(User, name="assignee")
TICKET_COLUMNS = (
    Ticket.id,
    Ticket.subject,
    Ticket.requester_id,
    Ticket.organization_id,
    Ticket.category_id,
    Ticket.priority_id,
    Ticket.status,
    Ticket.assignee_id,
    Ticket.due_at,
    Ticket.updated_at,
    Ticket.version,
    Ticket.first_response_at,
    Ticket.response_warn_at,
    Ticket.resolution_due_at,
    Ticket.resolution_warn_at,
    Ticket.paid_credits,
)


def _decorate(page, *order):
    """Names joined onto the page's (at most 26) rows.

    The page is picked in a subquery on the tickets table alone, so PostgreSQL plans a one-table
    query plus a small join (a single six-table query spent ~10 ms in its planner).
    """
    c = page.c
    return (
        select(
            c.id,
            c.subject,
            Requester.name.label("requester"),
            Organization.name.label("organization"),
            Category.name.label("category"),
            Priority.name.label("priority"),
            c.priority_id,
            c.category_id,
            c.status,
            Assignee.name.label("assignee"),
            c.due_at,
            c.updated_at,
            c.version,
            c.first_response_at,
            c.response_warn_at,
            c.resolution_due_at,
            c.resolution_warn_at,
            c.paid_credits,
            *([c.rank] if "rank" in c else []),
        )  # fmt: skip
        .select_from(page)
        .join(Requester, Requester.id == c.requester_id)
        .outerjoin(Organization, Organization.id == c.organization_id)
        .join(Category, Category.id == c.category_id)
        .join(Priority, Priority.id == c.priority_id)
        .outerjoin(Assignee, Assignee.id == c.assignee_id)
        .order_by(*order)
    )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


def _micros(moment):
    return (moment - EPOCH) // ONE_MICROSECOND


def _moment(micros):
    return EPOCH + micros * ONE_MICROSECOND


def encode_cursor(sort, ticket):
    if sort == "attention":
        key = {0: ticket.due_at, 1: ticket.due_at, 2: ticket.resolution_due_at}.get(
            ticket.rank, ticket.updated_at
        )
        return f"a.{ticket.rank}.{_micros(key)}.{ticket.id}"
    if sort == "updated":
        return f"u.{_micros(ticket.updated_at)}.{ticket.id}"
    if sort == "priority":
        return f"p.{ticket.priority_id}.{_micros(ticket.due_at)}.{ticket.id}"
    return f"d.{_micros(ticket.due_at)}.{ticket.id}"


def decode_cursor(sort, cursor):
    """The cursor's numbers for this sort, or None for a missing or malformed one (first page)."""
    parts = (cursor or "").split(".")
    expected = {"due": ("d", 3), "updated": ("u", 3), "priority": ("p", 4), "attention": ("a", 4)}[sort]
    # ASCII digits only: "²" is a digit to isdigit() but no number to int() (a 500)
    digits = all(p.isascii() and p.isdigit() for p in parts[1:])
    if len(parts) != expected[1] or parts[0] != expected[0] or not digits:
        return None
    numbers = [int(p) for p in parts[1:]]
    if numbers[-2] > 253402300799 * 1_000_000:  # past year 9999
        return None
    if numbers[-1] > MAX_ID or (len(numbers) == 3 and numbers[0] > MAX_ID):  # an id, a rank
        return None
    return numbers


def _directed(columns, reverse):
    return [c.desc() for c in columns] if reverse else list(columns)


def _walking(query, walk):
    return walking_index(query, Ticket.__table__, walk) if walk else query


def _due_page(conditions, start, limit, reverse=False, ranks=(), walk=None, lead=()):
    """Earliest due first; `reverse` walks back from the cursor (rows come latest first)."""
    query = _walking(select(*TICKET_COLUMNS).where(*conditions), walk)
    if start is not None:
        key, bound = tuple_(Ticket.due_at, Ticket.id), tuple_(CURSOR_KEY, CURSOR_ID)
        query = query.where(key < bound if reverse else key > bound)
    page = (
        query.order_by(*_directed((*lead, Ticket.due_at, Ticket.id), reverse)).limit(limit).subquery("page")
    )
    return _decorate(page, *_directed((page.c.due_at, page.c.id), reverse))


def _updated_page(conditions, start, limit, reverse=False, ranks=(), walk=None, lead=()):
    """Latest update first; `reverse` walks back from the cursor (rows come oldest first)."""
    query = _walking(select(*TICKET_COLUMNS).where(*conditions), walk)
    if start is not None:
        key, bound = tuple_(Ticket.updated_at, Ticket.id), tuple_(CURSOR_KEY, CURSOR_ID)
        query = query.where(key > bound if reverse else key < bound)
    order = (*lead, Ticket.updated_at, Ticket.id)
    page = query.order_by(*_directed(order, not reverse)).limit(limit).subquery("page")
    return _decorate(page, *_directed((page.c.updated_at, page.c.id), not reverse))


def _priority_page(conditions, start, limit, reverse=False, ranks=(), walk=None, lead=()):
    """Most urgent priority first, then by due time: one index-backed branch per priority.

    Priorities are few, so each branch walks ix_tickets_priority_due for at most `limit` rows and
    the union is ordered in memory; the cost does not grow with the number of tickets. `reverse`
    walks back from the cursor through the same branches (rows come in the opposite order).
    """
    if start is None:  # from the least urgent end when walking backwards
        start = len(ranks) if reverse else -1
    branches = []
    for rank, pid in enumerate(ranks):
        if (rank > start) if reverse else (rank < start):
            continue
        branch = select(*TICKET_COLUMNS, literal_column(str(rank)).label("rank")).where(
            *conditions, Ticket.priority_id == pid
        )
        branch = _walking(branch, walk)
        if rank == start:
            key, bound = tuple_(Ticket.due_at, Ticket.id), tuple_(CURSOR_KEY, CURSOR_ID)
            branch = branch.where(key < bound if reverse else key > bound)
        order = _directed((*lead, Ticket.due_at, Ticket.id), reverse)
        branches.append(select(branch.order_by(*order).limit(limit).subquery()))
    if not branches:
        branches = [select(*TICKET_COLUMNS, literal_column("0").label("rank")).where(Ticket.id.is_(None))]
    union = union_all(*branches) if len(branches) > 1 else branches[0]
    ordered = select(union.subquery("ranked"))
    r = ordered.selected_columns
    page = ordered.order_by(*_directed((r.rank, r.due_at, r.id), reverse)).limit(limit).subquery("page")
    return _decorate(page, *_directed((page.c.rank, page.c.due_at, page.c.id), reverse))


PAID_ABOVE = literal_column("0")  # a paid ticket's paid_credits are above this


def attention_groups(now, open_only=False):
    """The four groups of "Needs attention", in order, each with the column it sorts by:
    0 paid tickets not yet answered and at risk, 1 the other unanswered ones (both by reply-by
    time), 2 answered open tickets with a resolution target (by resolve-by time), 3 everything
    else (latest update first). The groups never overlap; a met deadline sorts nothing up.
    `open_only`: the page's filters already keep open tickets only, so the last group is the
    answered ones without a resolve-by time, or waiting, said so that the index of answered open
    tickets can serve it (PostgreSQL's planner cannot drop the closed tickets' half itself)."""
    unanswered = and_(Ticket.first_response_at.is_(None), in_written(Ticket.status, OPEN_STATUSES))
    # The zero is written into the SQL (not bound) so that both databases can prove group 0's
    # rows are in the paid tickets' partial index (a generic plan cannot, from a parameter).
    paid_at_risk = and_(Ticket.paid_credits > PAID_ABOVE, Ticket.response_warn_at <= now)
    resolving = and_(
        Ticket.first_response_at.isnot(None),
        in_written(Ticket.status, OPEN_STATUSES),  # implied by the next line; names the partial index
        in_values(Ticket.status, (STATUS_NEW, STATUS_OPEN)),
        Ticket.resolution_due_at.isnot(None),
    )
    answered_rest = and_(
        Ticket.first_response_at.isnot(None),
        or_(Ticket.status == STATUS_WAITING, Ticket.resolution_due_at.is_(None)),
    )
    rest = answered_rest if open_only else or_(not_in_values(Ticket.status, OPEN_STATUSES), answered_rest)
    not_paid_at_risk = or_(
        Ticket.paid_credits <= PAID_ABOVE, Ticket.response_warn_at.is_(None), Ticket.response_warn_at > now
    )
    return (
        (and_(unanswered, paid_at_risk), Ticket.due_at),
        (and_(unanswered, not_paid_at_risk), Ticket.due_at),
        (resolving, Ticket.resolution_due_at),
        (rest, Ticket.updated_at),
    )


RESOLVING_GROUP = 2  # answered new and open tickets, by resolve-by time
LATEST_FIRST_GROUP = 3


# The index each group of "Needs attention" walks in its order (see walking_index): each branch's
# WHERE carries the index's condition (the open statuses written out, the first response or
# resolve-by test).
ATTENTION_INDEXES = (
    "ix_tickets_active_unanswered_paid_due",
    "ix_tickets_active_unanswered_due",
    "ix_tickets_active_resolution_due",
    "ix_tickets_updated",
)
# The same for one agent's active tickets ("Mine", "Unassigned"): the agent is sought in the index,
# then a page walked in order. An agent's tickets are mostly answered and the unassigned ones
# mostly not, so for "Unassigned" the answered groups read the console's count index (it holds
# the assignee and the first response: a seek straight into their small ranges). Measured on the
# bench desk (an agent with 10,446 active tickets, 4,059 unassigned): "Mine" 14.9 -> 0.5 ms of SQL,
# "Unassigned" 7.1 -> 1.5-2 ms (bench/README.md). Its resolve-by group, left to SQLite's planner,
# walked every active ticket with a resolve-by time looking for an unassigned one (the bench
# desk has none): 3-4 ms of the page's SQL; the count index finds none in 0.4 ms.
ASSIGNEE_ATTENTION_INDEXES = {
    "assignee": (
        "ix_tickets_active_assignee_unanswered_due",
        "ix_tickets_active_assignee_unanswered_due",
        "ix_tickets_active_resolution_due",
        "ix_tickets_active_answered_assignee_updated",  # the agent sought, then latest update first
    ),
    "unassigned": (
        "ix_tickets_active_unanswered_paid_due",
        "ix_tickets_active_assignee_unanswered_due",
        "ix_tickets_active_views",
        "ix_tickets_active_answered_assignee_updated",
    ),
}


def _attention_page(
    conditions, start, limit, reverse=False, ranks=(), walk=None, lead=(), open_only=False, without=()
):
    """ "Needs attention": the groups of attention_groups(), one index-backed branch each (like the
    priority sort), so a page costs the same however deep it is. The last group runs latest
    update first; `reverse` walks every branch back from the cursor."""
    start = start if start is not None else (LATEST_FIRST_GROUP + 1 if reverse else -1)
    branches = []
    for rank, (group, key) in enumerate(attention_groups(NOW, open_only)):
        if (rank > start) if reverse else (rank < start):
            continue
        if (walk and walk[rank] is False) or rank in without:
            continue  # a group the filters rule out (open tickets' groups, a resolved status asked)
        descending = (rank == LATEST_FIRST_GROUP) != reverse
        # Only the id and the sort keys in the branches: a branch with every column costs more to
        # build in SQLAlchemy than to run (4 branches x 26 column proxies was 3 ms a page).
        branch = select(Ticket.id.label("id"), literal_column(str(rank)).label("rank"), key.label("k"))
        branch = branch.where(*conditions, group)
        if walk and walk[rank]:
            branch = walking_index(branch, Ticket.__table__, walk[rank])
        if rank == start:
            bound = tuple_(key, Ticket.id), tuple_(CURSOR_KEY, CURSOR_ID)
            branch = branch.where(bound[0] < bound[1] if descending else bound[0] > bound[1])
        order = _directed((*lead, key, Ticket.id), descending)
        branches.append(select(branch.order_by(*order).limit(limit).subquery()))
    if not branches:
        empty = select(Ticket.id.label("id"), literal_column("0").label("rank"), Ticket.due_at.label("k"))
        branches = [empty.where(Ticket.id.is_(None))]
    union = union_all(*branches) if len(branches) > 1 else branches[0]
    ranked = select(union.subquery("ranked"))
    chosen = (
        ranked.order_by(*_attention_order(ranked.selected_columns, reverse)).limit(limit).subquery("chosen")
    )
    page = (
        select(*TICKET_COLUMNS, chosen.c.rank, chosen.c.k)
        .join_from(chosen, Ticket, Ticket.id == chosen.c.id)
        .subquery("page")
    )
    return _decorate(page, *_attention_order(page.c, reverse))


def _attention_order(c, reverse):
    """Group, then earliest due first (groups 0-2) or latest update first (group 3), then id;
    every direction flipped for `reverse`."""
    last = c.rank == LATEST_FIRST_GROUP
    due, updated, ident = (
        case((last, None), else_=c.k),
        case((last, c.k), else_=None),
        case((last, -c.id), else_=c.id),
    )
    if reverse:
        return [c.rank.desc(), due.desc(), updated.asc(), ident.desc()]
    return [c.rank.asc(), due.asc(), updated.desc(), ident.asc()]


BUILDERS = {
    "attention": _attention_page,
    "due": _due_page,
    "updated": _updated_page,
    "priority": _priority_page,
}


def queue_page(actor, filters, per_page, now=None, spent=None):
    """One page of the tickets `actor` may see, after `filters.after` (or before `filters.before`).

    Guarantees: only tickets visible through the policy; one query whatever the page size or
    depth (keyset pagination on indexed columns; names, tags and credits spent in the same row).
    Paging back from the second page (fewer than a page's rows before it) gives the first page.
    `spent(ticket_id column) -> a scalar SELECT` (from the credits domain) fills each row's paid
    marker.
    """
    now = now or utcnow()
    asked = filters.sort if filters.sort in SORTS else "attention"
    sort, flipped = REVERSED.get(asked, asked), asked in REVERSED  # cursors are the natural sort's
    shape, params = _shape(actor, filters)
    params["now"] = now
    ranks = _priority_ranks() if sort == "priority" else ()

    if (
        None not in shape
        and VALUE_PLANNED.isdisjoint(shape)
        and db.session.get_bind().dialect.name == "postgresql"
    ):
        db.session.execute(GENERIC_PLANS)

    def fetch(cursor, reverse=False):
        start = None
        if cursor is not None:
            start, params["c_key"], params["c_id"] = _cursor_values(sort, cursor, ranks)
        statement = _statement(sort, shape, filters, start, reverse != flipped, per_page + 1, ranks, spent)
        return column_rows(statement, params).all()

    before = decode_cursor(sort, filters.before)
    if before is not None:
        found = fetch(before, reverse=True)
        if len(found) > per_page:
            rows = _rows(list(reversed(found[:per_page])), now)
            return QueuePage(
                rows=rows,
                next_cursor=encode_cursor(sort, rows[-1]),
                is_first=False,
                prev_cursor=encode_cursor(sort, rows[0]),
            )
        cursor = None  # back at the start: the first page, full
    else:
        cursor = decode_cursor(sort, filters.after)
    found = fetch(cursor)
    rows = _rows(found[:per_page], now)
    return QueuePage(
        rows=rows,
        next_cursor=encode_cursor(sort, rows[-1]) if len(found) > per_page else None,
        is_first=cursor is None,
        prev_cursor=encode_cursor(sort, rows[0]) if cursor is not None and rows else None,
    )


def _priority_ranks():
    """Priority ids, most urgent first (the priority sort's branches)."""
    return tuple(db.session.scalars(select(Priority.id).order_by(Priority.sort_order.desc(), Priority.id)))


def _cursor_values(sort, cursor, ranks):
    """(the group or priority rank the cursor is in, its key instant, its ticket id)."""
    if sort == "priority":
        return (ranks.index(cursor[0]) if cursor[0] in ranks else -1), _moment(cursor[1]), cursor[2]
    if sort == "attention":
        return cursor[0], _moment(cursor[1]), cursor[2]
    return 0, _moment(cursor[0]), cursor[1]


# PostgreSQL re-planned the queue's prepared statements on every execution (custom plans: 0.5 ms
# by due time, 1.7 ms for "Needs attention", more than running them). Their plans do not depend
# on the values (the indexes and the keyset bounds are the same for every viewer), so within the
# page's transaction the prepared statements use their generic plan. A search (`q`), a tag and a
# category keep custom plans: which index suits them depends on how common their value is. The
# generic plan walked every active ticket by due time testing each for the tag or category, to
# find the few of a rare one (on the 100,000-ticket bench desk, a page 110-130 ms against 12-14
# planned for the value; bench/README.md).
VALUE_PLANNED = frozenset({"tag", "category_id"})
GENERIC_PLANS = text("SET LOCAL plan_cache_mode = force_generic_plan")
_STATEMENTS = {}  # statement shape -> the built statement (its values are bind parameters)
MAX_STATEMENTS = 512


def _statement(sort, shape, filters, start, reverse, limit, ranks, spent):
    """The page's SELECT, built once per shape and then reused: building a statement this size
    in SQLAlchemy cost more than running it (0.4 ms by due time, 1.4 ms "Needs attention").
    Every value that varies between requests of one shape is a bind parameter; a search (its
    words are the SQL) is built afresh."""
    if None in shape:
        return _build(sort, shape, filters, start, reverse, limit, ranks, spent)
    key = (sort, shape, start, reverse, limit, ranks, spent)
    statement = _STATEMENTS.get(key)
    if statement is None:
        if len(_STATEMENTS) >= MAX_STATEMENTS:
            _STATEMENTS.clear()
        statement = _STATEMENTS[key] = _build(sort, shape, filters, start, reverse, limit, ranks, spent)
    return statement


TAG_SEPARATOR = ","  # never in a tag (editing.parse_tags splits on it)


# The index each sort walks on SQLite (see walking_index) for the console's status and assignee
# filters: the filter sought at the front of the index, then a page walked in the sort's order.
# Keyed by the status filter ("active", the default; "status", one status; "all"), or, when the
# page is filtered by assignee (someone, or nobody), by "assignee" ("active assignee" for an open
# status): the assignee is the narrower filter, the status is checked on the rows walked.
_SORT_WALKS = {
    "due": {
        "active": "ix_tickets_active_due",
        "status": "ix_tickets_status_due",
        "all": "ix_tickets_due",
        "assignee": "ix_tickets_assignee_due",
        "active assignee": "ix_tickets_active_assignee_due",
    },
    "updated": {
        "active": "ix_tickets_updated",  # most of the latest updated tickets are active ones
        "status": "ix_tickets_status_updated",
        "all": "ix_tickets_updated",
        "assignee": "ix_tickets_assignee_updated",
        "active assignee": "ix_tickets_active_assignee_updated",
    },
    "priority": {
        "active": "ix_tickets_active_priority_due",
        "status": "ix_tickets_status_priority_due",
        "all": "ix_tickets_priority_due",
        "assignee": "ix_tickets_assignee_priority_due",
        "active assignee": "ix_tickets_active_assignee_priority_due",
    },
}


def _filter_kinds(shape):
    """(status kind, assignee kind) of an agent's or admin's page filtered by nothing else, or None
    (another filter, a customer's page, a search: the planner weighs it)."""
    if shape[0] not in ("agent", "admin"):
        return None
    rest = set(shape[1:])
    status = rest & {"active", "status", "waiting", "ended_status"}
    assignee = rest & {"assignee", "unassigned"}
    if len(status) > 1 or len(assignee) > 1 or rest - status - assignee:
        return None
    status_kind = status.pop() if status else "all"
    if status_kind == "waiting":  # one open status, walked as any other
        status_kind = "status"
    return status_kind, (assignee.pop() if assignee else None)


def _walks(sort, shape):
    """The index (or, for "Needs attention", the index of each group) a page walks on SQLite, or
    None to let the planner choose. For the pages most of the console shows, filtered by their
    categories, a status and an assignee only, an index in the sort's order whose front is the
    filter: most of its entries match, so a walk finds a page after a few dozen whatever the
    statistics say. Another filter (a category, a tag, a search) may match few tickets of an index:
    the planner weighs it then. For "Needs attention" a group the status rules out is False."""
    kinds = _filter_kinds(shape)
    if kinds is None:
        return None
    status, assignee = kinds
    # "Needs attention"'s last group (latest update first) holds the resolved and closed tickets
    # too: it seeks the assignee, or the status, in the latest-update indexes.
    if assignee:
        last = "ix_tickets_assignee_updated"
    else:
        last = "ix_tickets_updated" if status == "all" else "ix_tickets_status_updated"
    if sort != "attention":
        walks = _SORT_WALKS[sort]
        if assignee:  # among their active tickets when the status is open: those indexes are smaller
            return walks["active assignee" if status in ("active", "status") else "assignee"]
        return walks["status" if status == "ended_status" else status]
    if status == "ended_status":  # only the last group can match
        return (False, False, False, last)
    groups = ASSIGNEE_ATTENTION_INDEXES[assignee] if assignee else ATTENTION_INDEXES
    if status == "active":
        return groups
    # One open status, or all statuses: the open tickets' groups as for "active" (their conditions
    # name the active indexes), then the last group's.
    return (*groups[:3], last)


def _build(sort, shape, filters, start, reverse, limit, ranks, spent):
    """The page (BUILDERS), with each row's tags and credits spent as correlated subqueries: the
    page's rows, names, tags and paid markers in one round trip."""
    builder = BUILDERS[sort]
    walk = _walks(sort, shape)
    if walk:
        builder = partial(builder, walk=walk)
    if "unassigned" in shape:
        # Every row has no assignee: ordering by it first changes nothing but names the indexes
        # that start with it. PostgreSQL cannot take `IS NULL` as a constant the way it takes
        # `= :id`, and walked the whole latest-update index looking for unassigned closed tickets
        # (170 ms for "Unassigned, all statuses" on the bench desk).
        builder = partial(builder, lead=(Ticket.assignee_id,))
    if sort == "attention" and {"active", "status", "waiting"} & set(shape):
        builder = partial(builder, open_only=True, without=(RESOLVING_GROUP,) if "waiting" in shape else ())
    statement = builder(_conditions(shape, filters), start, limit, reverse, ranks)
    ticket_id = statement.selected_columns.id
    tags = select(func.aggregate_strings(TicketTag.name, TAG_SEPARATOR)).where(
        TicketTag.ticket_id == ticket_id
    )
    extra = [tags.scalar_subquery().label("tags")]
    if spent is not None:
        extra.append(spent(ticket_id).label("credits_spent"))
    return statement.add_columns(*extra)


def _rows(found, now):
    """Result rows as QueueRows (tags sorted by name, credits spent 0 when none)."""
    return [_row(r, now) for r in found]


def _row(found, now):
    values = found._asdict()
    values.pop("k", None)
    tags = values.pop("tags")
    values["tags"] = sorted(tags.split(TAG_SEPARATOR)) if tags else []
    values["credits_spent"] = values.get("credits_spent") or 0
    values["overdue"] = (
        found.status in OPEN_STATUSES and found.first_response_at is None and found.due_at < now
    )
    return QueueRow(**values, clock=sla.clock(found, now))
