"""The agent queue: filtered, sorted, keyset-paginated tickets with every column loaded in one query."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, literal_column, select, tuple_, union_all
from sqlalchemy.orm import aliased

from helpdesk import policy
from helpdesk.accounts.models import Organization, User
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import search
from helpdesk.tickets.models import (
    OPEN_STATUSES,
    STATUS_LABELS,
    STATUSES,
    Category,
    Priority,
    Ticket,
    TicketTag,
)

SORTS = ("due", "priority", "updated")


@dataclass(frozen=True)
class QueueFilters:
    """What the agent asked for; every value already has the right shape (the form checked it)."""

    status: str = "active"  # "active" (new, open, waiting), "all", or one status
    category_id: int | None = None
    priority_id: int | None = None
    assignee: str = "anyone"  # "anyone", "me", "unassigned" or an agent's id as digits
    overdue: bool = False
    tag: str = ""
    q: str = ""
    sort: str = "due"
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
    status: str
    assignee: str | None
    due_at: datetime
    updated_at: datetime
    version: int
    overdue: bool
    tags: list
    credits_spent: int = 0  # charges net of refunds (priority and time): the paid marker

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
    return Ticket.status.in_(OPEN_STATUSES) & Ticket.first_response_at.is_(None) & (Ticket.due_at < now)


def is_overdue(ticket, now):
    return ticket.is_open and ticket.first_response_at is None and ticket.due_at < now


def _conditions(actor, filters, now):
    conditions = [policy.ticket_visibility(actor)]
    if filters.status == "active":
        conditions.append(Ticket.status.in_(OPEN_STATUSES))
    elif filters.status in STATUSES:
        conditions.append(Ticket.status == filters.status)
    if filters.category_id:
        conditions.append(Ticket.category_id == filters.category_id)
    if filters.priority_id:
        conditions.append(Ticket.priority_id == filters.priority_id)
    if filters.assignee == "me":
        conditions.append(Ticket.assignee_id == actor.id)
    elif filters.assignee == "unassigned":
        conditions.append(Ticket.assignee_id.is_(None))
    elif filters.assignee.isdigit():
        conditions.append(Ticket.assignee_id == int(filters.assignee))
    if filters.overdue:
        conditions.append(overdue_condition(now))
    if filters.tag:
        conditions.append(
            exists().where(TicketTag.ticket_id == Ticket.id, TicketTag.name == filters.tag.lower())
        )
    if filters.q:
        conditions.append(search.ticket_condition(filters.q, include_internal=True))
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
            c.status,
            Assignee.name.label("assignee"),
            c.due_at,
            c.updated_at,
            c.version,
            c.first_response_at,
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
    if sort == "updated":
        return f"u.{_micros(ticket.updated_at)}.{ticket.id}"
    if sort == "priority":
        return f"p.{ticket.priority_id}.{_micros(ticket.due_at)}.{ticket.id}"
    return f"d.{_micros(ticket.due_at)}.{ticket.id}"


def decode_cursor(sort, cursor):
    """The cursor's numbers for this sort, or None for a missing or malformed one (first page)."""
    parts = (cursor or "").split(".")
    expected = {"due": ("d", 3), "updated": ("u", 3), "priority": ("p", 4)}[sort]
    if len(parts) != expected[1] or parts[0] != expected[0] or not all(p.isdigit() for p in parts[1:]):
        return None
    numbers = [int(p) for p in parts[1:]]
    if numbers[-2] > 253402300799 * 1_000_000:  # past year 9999
        return None
    return numbers


def _directed(columns, reverse):
    return [c.desc() for c in columns] if reverse else list(columns)


def _due_page(conditions, cursor, limit, reverse=False):
    """Earliest due first; `reverse` walks back from the cursor (rows come latest first)."""
    query = select(*TICKET_COLUMNS).where(*conditions)
    if cursor:
        key, bound = tuple_(Ticket.due_at, Ticket.id), tuple_(_moment(cursor[0]), cursor[1])
        query = query.where(key < bound if reverse else key > bound)
    page = query.order_by(*_directed((Ticket.due_at, Ticket.id), reverse)).limit(limit).subquery("page")
    return _decorate(page, *_directed((page.c.due_at, page.c.id), reverse))


def _updated_page(conditions, cursor, limit, reverse=False):
    """Latest update first; `reverse` walks back from the cursor (rows come oldest first)."""
    query = select(*TICKET_COLUMNS).where(*conditions)
    if cursor:
        key, bound = tuple_(Ticket.updated_at, Ticket.id), tuple_(_moment(cursor[0]), cursor[1])
        query = query.where(key > bound if reverse else key < bound)
    order = (Ticket.updated_at, Ticket.id)
    page = query.order_by(*_directed(order, not reverse)).limit(limit).subquery("page")
    return _decorate(page, *_directed((page.c.updated_at, page.c.id), not reverse))


def _priority_page(conditions, cursor, limit, reverse=False):
    """Most urgent priority first, then by due time: one index-backed branch per priority.

    Priorities are few, so each branch walks ix_tickets_priority_due for at most `limit` rows and
    the union is ordered in memory; the cost does not grow with the number of tickets. `reverse`
    walks back from the cursor through the same branches (rows come in the opposite order).
    """
    ranked = db.session.execute(
        select(Priority.id).order_by(Priority.sort_order.desc(), Priority.id)
    ).scalars()
    ranks = {pid: rank for rank, pid in enumerate(ranked)}
    start = ranks.get(cursor[0], -1) if cursor else -1
    branches = []
    for pid, rank in ranks.items():
        if (rank > start) if reverse else (rank < start):
            continue
        branch = select(*TICKET_COLUMNS, literal_column(str(rank)).label("rank")).where(
            *conditions, Ticket.priority_id == pid
        )
        if rank == start:
            key, bound = tuple_(Ticket.due_at, Ticket.id), tuple_(_moment(cursor[1]), cursor[2])
            branch = branch.where(key < bound if reverse else key > bound)
        order = _directed((Ticket.due_at, Ticket.id), reverse)
        branches.append(select(branch.order_by(*order).limit(limit).subquery()))
    if not branches:
        branches = [select(*TICKET_COLUMNS, literal_column("0").label("rank")).where(Ticket.id.is_(None))]
    union = union_all(*branches) if len(branches) > 1 else branches[0]
    ordered = select(union.subquery("ranked"))
    r = ordered.selected_columns
    page = ordered.order_by(*_directed((r.rank, r.due_at, r.id), reverse)).limit(limit).subquery("page")
    return _decorate(page, *_directed((page.c.rank, page.c.due_at, page.c.id), reverse))


BUILDERS = {"due": _due_page, "updated": _updated_page, "priority": _priority_page}


def queue_page(actor, filters, per_page, now=None, spent=None):
    """One page of the tickets `actor` may see, after `filters.after` (or before `filters.before`).

    Guarantees: only tickets visible through the policy; a constant number of queries whatever
    the page size or depth (keyset pagination on indexed columns, all columns eagerly loaded).
    Paging back from the second page (fewer than a page's rows before it) gives the first page.
    `spent(ticket_ids) -> {id: credits}` (from the credits domain) fills each row's paid marker.
    """
    now = now or utcnow()
    sort = filters.sort if filters.sort in SORTS else "due"
    build = BUILDERS[sort]
    conditions = _conditions(actor, filters, now)
    before = decode_cursor(sort, filters.before)
    if before is not None:
        found = db.session.execute(build(conditions, before, per_page + 1, reverse=True)).all()
        if len(found) > per_page:
            rows = _rows(list(reversed(found[:per_page])), now, spent)
            return QueuePage(
                rows=rows,
                next_cursor=encode_cursor(sort, rows[-1]),
                is_first=False,
                prev_cursor=encode_cursor(sort, rows[0]),
            )
        cursor = None  # back at the start: the first page, full
    else:
        cursor = decode_cursor(sort, filters.after)
    found = db.session.execute(build(conditions, cursor, per_page + 1)).all()
    rows = _rows(found[:per_page], now, spent)
    return QueuePage(
        rows=rows,
        next_cursor=encode_cursor(sort, rows[-1]) if len(found) > per_page else None,
        is_first=cursor is None,
        prev_cursor=encode_cursor(sort, rows[0]) if cursor is not None and rows else None,
    )


def _rows(found, now, spent=None):
    """Result rows as QueueRows, with their tags (one query for the page) and credits spent."""
    ids = [r.id for r in found]
    tags = _tags_of(ids)
    paid = spent(ids) if spent is not None and ids else {}
    return [
        QueueRow(
            **{k: v for k, v in r._mapping.items() if k != "first_response_at"},
            overdue=r.status in OPEN_STATUSES and r.first_response_at is None and r.due_at < now,
            tags=tags.get(r.id, []),
            credits_spent=paid.get(r.id, 0),
        )
        for r in found
    ]


def _tags_of(ticket_ids):
    """{ticket id: [tag names]} for the page's tickets, in one query."""
    if not ticket_ids:
        return {}
    found = {}
    query = select(TicketTag.ticket_id, TicketTag.name).where(TicketTag.ticket_id.in_(ticket_ids))
    for ticket_id, name in db.session.execute(query.order_by(TicketTag.name)):
        found.setdefault(ticket_id, []).append(name)
    return found
