"""The agent queue: filtered, sorted, keyset-paginated tickets with every column loaded in one query."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, exists, literal_column, or_, select, tuple_, union_all
from sqlalchemy.orm import aliased

from .. import policy
from ..extensions import db
from ..models import (
    AGENT_ROLES,
    OPEN_STATUSES,
    STATUS_LABELS,
    STATUSES,
    Category,
    Message,
    Organization,
    Priority,
    Ticket,
    TicketTag,
    User,
    utcnow,
)
from .tickets import escape_like

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

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class QueuePage:
    rows: list
    next_cursor: str | None
    is_first: bool


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
        pattern = f"%{escape_like(filters.q)}%"
        conditions.append(
            or_(
                Ticket.subject.ilike(pattern, escape="\\"),
                Ticket.body.ilike(pattern, escape="\\"),
                exists().where(Message.ticket_id == Ticket.id, Message.body.ilike(pattern, escape="\\")),
            )
        )
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


def _due_page(conditions, cursor, limit):
    query = select(*TICKET_COLUMNS).where(*conditions)
    if cursor:
        query = query.where(tuple_(Ticket.due_at, Ticket.id) > tuple_(_moment(cursor[0]), cursor[1]))
    page = query.order_by(Ticket.due_at, Ticket.id).limit(limit).subquery("page")
    return _decorate(page, page.c.due_at, page.c.id)


def _updated_page(conditions, cursor, limit):
    query = select(*TICKET_COLUMNS).where(*conditions)
    if cursor:
        query = query.where(tuple_(Ticket.updated_at, Ticket.id) < tuple_(_moment(cursor[0]), cursor[1]))
    page = query.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit).subquery("page")
    return _decorate(page, page.c.updated_at.desc(), page.c.id.desc())


def _priority_page(conditions, cursor, limit):
    """Most urgent priority first, then by due time: one index-backed branch per priority.

    Priorities are few, so each branch walks ix_tickets_priority_due for at most `limit` rows and
    the union is ordered in memory; the cost does not grow with the number of tickets.
    """
    ranked = db.session.execute(
        select(Priority.id).order_by(Priority.sort_order.desc(), Priority.id)
    ).scalars()
    ranks = {pid: rank for rank, pid in enumerate(ranked)}
    start = ranks.get(cursor[0], -1) if cursor else -1
    branches = []
    for pid, rank in ranks.items():
        if rank < start:
            continue
        branch = select(*TICKET_COLUMNS, literal_column(str(rank)).label("rank")).where(
            *conditions, Ticket.priority_id == pid
        )
        if rank == start:
            branch = branch.where(tuple_(Ticket.due_at, Ticket.id) > tuple_(_moment(cursor[1]), cursor[2]))
        branches.append(select(branch.order_by(Ticket.due_at, Ticket.id).limit(limit).subquery()))
    if not branches:
        branches = [select(*TICKET_COLUMNS, literal_column("0").label("rank")).where(Ticket.id.is_(None))]
    union = union_all(*branches) if len(branches) > 1 else branches[0]
    ordered = select(union.subquery("ranked"))
    r = ordered.selected_columns
    page = ordered.order_by(r.rank, r.due_at, r.id).limit(limit).subquery("page")
    return _decorate(page, page.c.rank, page.c.due_at, page.c.id)


def queue_page(actor, filters, per_page, now=None):
    """One page of the tickets `actor` may see, after `filters.after`.

    Guarantees: only tickets visible through the policy; a constant number of queries whatever
    the page size or depth (keyset pagination on indexed columns, all columns eagerly loaded).
    """
    now = now or utcnow()
    sort = filters.sort if filters.sort in SORTS else "due"
    cursor = decode_cursor(sort, filters.after)
    build = {"due": _due_page, "updated": _updated_page, "priority": _priority_page}[sort]
    found = db.session.execute(build(_conditions(actor, filters, now), cursor, per_page + 1)).all()
    has_more = len(found) > per_page
    found = found[:per_page]
    tags = _tags_of([r.id for r in found])
    rows = [
        QueueRow(
            **{k: v for k, v in r._mapping.items() if k != "first_response_at"},
            overdue=r.status in OPEN_STATUSES and r.first_response_at is None and r.due_at < now,
            tags=tags.get(r.id, []),
        )
        for r in found
    ]
    return QueuePage(
        rows=rows,
        next_cursor=encode_cursor(sort, rows[-1]) if has_more else None,
        is_first=cursor is None,
    )


def _tags_of(ticket_ids):
    """{ticket id: [tag names]} for the page's tickets, in one query."""
    if not ticket_ids:
        return {}
    found = {}
    query = select(TicketTag.ticket_id, TicketTag.name).where(TicketTag.ticket_id.in_(ticket_ids))
    for ticket_id, name in db.session.execute(query.order_by(TicketTag.name)):
        found.setdefault(ticket_id, []).append(name)
    return found


def _choices_query(restricted):
    categories = select(
        literal_column("'c'").label("kind"), Category.id, Category.name, literal_column("0").label("position")
    ).where(Category.archived.is_(False))
    if restricted:
        categories = categories.where(Category.id.in_(bindparam("category_ids", expanding=True)))
    priorities = select(literal_column("'p'"), Priority.id, Priority.name, -Priority.sort_order)
    agents = select(literal_column("'a'"), User.id, User.name, literal_column("0")).where(
        User.role.in_(AGENT_ROLES), User.active.is_(True)
    )
    union = union_all(categories, priorities, agents).subquery()
    return select(union).order_by(union.c.kind, union.c.position, union.c.name)


CHOICES_ALL = _choices_query(restricted=False)  # built once; the queue asks on every page
CHOICES_PERMITTED = _choices_query(restricted=True)


def filter_choices(actor):
    """Options for the queue's filter and bulk controls, in one query: the categories the actor
    sees (by name), the priorities (most urgent first) and the active agents (by name)."""
    if policy.is_admin(actor):
        rows = db.session.execute(CHOICES_ALL)
    else:
        ids = sorted(policy.permitted_category_ids(actor)) or [-1]
        rows = db.session.execute(CHOICES_PERMITTED, {"category_ids": ids})
    found = {"c": [], "p": [], "a": []}
    for row in rows:
        found[row.kind].append(Choice(row.id, row.name))
    return {"categories": found["c"], "priorities": found["p"], "agents": found["a"]}
