"""What the agent ticket page shows, read as plain values in a few prebuilt queries.

The page is the agents' most used after the queue. Loading it as ORM objects (the ticket with its
people, messages with authors and attachments, history with actors, subscribers with users) cost
more than rendering it; these read models are plain frozen dataclasses, so the page is a function
of them alone (see helpdesk/conditional.py, which fingerprints them for the page's ETag), and each
query is built once and reused with bind parameters (building an ORM statement cost more than
running it). Shapes follow what the shared templates read (`tickets/_message.html`,
`tickets/_original_message.html`): `m.author.name`, `ticket.requester.email`, `a.filename`...
"""

import functools
from dataclasses import dataclass, replace

from sqlalchemy import bindparam, case, func, literal_column, select, union_all
from sqlalchemy.orm import aliased

from helpdesk.accounts.models import (
    ACTIVE_AGENT,
    AGENT_ROLES,
    ROLE_ADMIN,
    ROLE_TECHNICIAN,
    AgentAvailability,
    CategoryPermission,
    Organization,
    User,
)
from helpdesk.extensions import db
from helpdesk.tickets import editing
from helpdesk.tickets.models import (
    IN_TIME,
    OPEN_STATUSES,
    STATUS_LABELS,
    Attachment,
    Category,
    Message,
    Priority,
    Subscription,
    Ticket,
    TicketEvent,
    TicketTag,
)

TAG_SEPARATOR = ","  # never in a tag (editing.parse_tags splits on it)


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str = ""
    role: str = ""

    @property
    def is_agent(self):
        return self.role in AGENT_ROLES


@dataclass(frozen=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True)
class File:
    id: int
    filename: str
    size: int
    message_id: int | None


@dataclass(frozen=True)
class TicketView:
    """One ticket as its agent page shows it (the ids and times the policy and the clock read)."""

    id: int
    subject: str
    body: str
    body_html: str | None  # the body rendered when it was written (models.stored_html_of)
    status: str
    version: int
    created_at: object
    updated_at: object
    due_at: object
    first_response_at: object
    response_warn_at: object
    resolution_due_at: object
    resolution_warn_at: object
    category_id: int
    category: str
    priority_id: int
    priority: str
    assignee_id: int | None
    assignee: str | None
    requester_id: int
    requester: Person
    organization_id: int | None
    organization: Named | None
    tags: tuple
    attachments: tuple  # the files sent with the description (message_id None)
    merged_into_id: int | None = None  # a merged duplicate: its conversation goes on there
    # The highest message sequence (see with_conversation): where the live notice starts. Not the
    # last message shown when messages were merged in (the conversation is in time order), nor
    # the highest id (messages merged in keep their older ids; their sequences are newer).
    newest_sequence: int = 0

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def tag_names(self):
        return list(self.tags)


@dataclass(frozen=True)
class MessageView:
    id: int
    body: str
    body_html: str | None
    internal: bool
    created_at: object
    author: Person | None
    attachments: tuple


@dataclass(frozen=True)
class SubscriberView:
    user_id: int
    user: Person


TICKET_ID = bindparam("ticket_id")


@functools.cache
def _ticket_statement():
    requester, assignee = aliased(User, name="requester"), aliased(User, name="assignee")
    tags = select(func.aggregate_strings(TicketTag.name, TAG_SEPARATOR)).where(
        TicketTag.ticket_id == Ticket.id
    )
    return (
        select(
            Ticket.id,
            Ticket.subject,
            Ticket.body,
            Ticket.body_html,
            Ticket.status,
            Ticket.version,
            Ticket.created_at,
            Ticket.updated_at,
            Ticket.due_at,
            Ticket.first_response_at,
            Ticket.response_warn_at,
            Ticket.resolution_due_at,
            Ticket.resolution_warn_at,
            Ticket.category_id,
            Category.name.label("category"),
            Ticket.priority_id,
            Priority.name.label("priority"),
            Ticket.assignee_id,
            assignee.name.label("assignee"),
            Ticket.requester_id,
            requester.name.label("requester_name"),
            requester.email.label("requester_email"),
            requester.role.label("requester_role"),
            Ticket.organization_id,
            Organization.name.label("organization"),
            tags.scalar_subquery().label("tags"),
            Ticket.merged_into_id,
        )
        .join(Category, Category.id == Ticket.category_id)
        .join(Priority, Priority.id == Ticket.priority_id)
        .join(requester, requester.id == Ticket.requester_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .outerjoin(Organization, Organization.id == Ticket.organization_id)
        .where(Ticket.id == TICKET_ID)
    )


def _messages_of_ticket(*extra):
    """The ticket's messages with their authors, the ticket's highest message sequence (counted
    before any LIMIT) and `extra` columns, unordered."""
    columns = (Message.id, Message.body, Message.body_html, Message.internal, Message.created_at)
    columns += (
        Message.author_id,
        User.name,
        User.email,
        User.role,
        func.max(Message.sequence).over().label("newest"),
    )
    return (
        select(*columns, *extra)
        .outerjoin(User, User.id == Message.author_id)
        .where(Message.ticket_id == TICKET_ID)
    )


@functools.cache
def _messages_statement():
    """In time order (IN_TIME): messages merged in from a duplicate keep their times but
    have newer ids (ix_messages_ticket_time reads it in that order)."""
    return _messages_of_ticket().order_by(*IN_TIME)


@functools.cache
def _latest_messages_statement():
    """The latest `shown` messages, newest first, each row with the ticket's number of messages
    (counted before the LIMIT: one statement for the window and what it leaves out)."""
    return (
        _messages_of_ticket(func.count().over().label("total"))
        .order_by(*(column.desc() for column in IN_TIME))
        .limit(bindparam("shown"))
    )


@functools.cache
def _files_statement(shown_only=False):
    """The ticket's files; `shown_only`: those of its description and of the messages from the
    bind parameter `first` (the lowest id the window shows) on: a long conversation's window is
    its latest messages, so not the files of every earlier message (those of a message merged in,
    outside the window but with a newer id, are read and left out)."""
    condition = Attachment.ticket_id == TICKET_ID
    if shown_only:
        condition = condition & (
            Attachment.message_id.is_(None) | (Attachment.message_id >= bindparam("first"))
        )
    return (
        select(Attachment.id, Attachment.filename, Attachment.size, Attachment.message_id)
        .where(condition)
        .order_by(Attachment.id)
    )


def _run(statement, ticket_id):
    """A prebuilt Core statement on the session's connection (no ORM work per statement)."""
    return db.session.connection().execute(statement, {"ticket_id": ticket_id})


def ticket_view(ticket_id):
    """The ticket as its page shows it, or None if there is none (access is the caller's: policy)."""
    row = _run(_ticket_statement(), ticket_id).one_or_none()
    if row is None:
        return None
    return TicketView(
        id=row.id,
        subject=row.subject,
        body=row.body,
        body_html=row.body_html,
        status=row.status,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        due_at=row.due_at,
        first_response_at=row.first_response_at,
        response_warn_at=row.response_warn_at,
        resolution_due_at=row.resolution_due_at,
        resolution_warn_at=row.resolution_warn_at,
        category_id=row.category_id,
        category=row.category,
        priority_id=row.priority_id,
        priority=row.priority,
        assignee_id=row.assignee_id,
        assignee=row.assignee,
        requester_id=row.requester_id,
        requester=Person(row.requester_id, row.requester_name, row.requester_email, row.requester_role),
        organization_id=row.organization_id,
        organization=Named(row.organization_id, row.organization) if row.organization_id else None,
        tags=tuple(sorted(row.tags.split(TAG_SEPARATOR))) if row.tags else (),
        attachments=(),  # see with_conversation
        merged_into_id=row.merged_into_id,
    )


def with_conversation(ticket, latest=None):
    """(the ticket with its description's files and highest message id, its messages in time order
    with their authors and files, how many earlier messages are left out): agents see internal
    notes too. With `latest` (a number), only the latest that many messages, in their order, and
    only their files; else every one. Two queries, whatever the number of messages and files."""
    earlier = 0
    if latest is None:
        rows = _run(_messages_statement(), ticket.id).all()
        files = [File(*row) for row in _run(_files_statement(), ticket.id)]
    else:
        connection = db.session.connection()
        rows = connection.execute(
            _latest_messages_statement(), {"ticket_id": ticket.id, "shown": latest}
        ).all()
        earlier = rows[0].total - len(rows) if rows else 0
        rows.reverse()
        shown = {"ticket_id": ticket.id, "first": min((row.id for row in rows), default=0)}
        files = [File(*row) for row in connection.execute(_files_statement(shown_only=True), shown)]
    by_message = {}
    for item in files:
        if item.message_id is not None:
            by_message.setdefault(item.message_id, []).append(item)
    messages = [
        MessageView(
            id=row.id,
            body=row.body,
            body_html=row.body_html,
            internal=row.internal,
            created_at=row.created_at,
            author=Person(row.author_id, row.name, row.email, row.role) if row.author_id else None,
            attachments=tuple(by_message.get(row.id, ())),
        )
        for row in rows
    ]
    described = replace(
        ticket,
        attachments=tuple(f for f in files if f.message_id is None),
        newest_sequence=(rows[0].newest or 0) if rows else 0,
    )
    return described, messages, earlier


HISTORY_EXCERPT = 20  # changes shown beside the conversation; the history page has them all


@functools.cache
def _history_statement():
    return (
        select(
            TicketEvent.field,
            TicketEvent.old_value,
            TicketEvent.new_value,
            TicketEvent.created_at,
            User.name,
        )
        .outerjoin(User, User.id == TicketEvent.actor_id)
        .where(TicketEvent.ticket_id == TICKET_ID)
        .order_by(TicketEvent.id.desc())
        .limit(HISTORY_EXCERPT + 1)
    )


def recent_history(ticket_id):
    """(the latest HISTORY_EXCERPT changes as display entries, whether there are older ones)."""
    rows = _run(_history_statement(), ticket_id).all()
    entries = [
        {"who": row.name or "System", "what": editing.describe_event(row), "at": row.created_at}
        for row in rows[:HISTORY_EXCERPT]
    ]
    return entries, len(rows) > HISTORY_EXCERPT


@functools.cache
def _subscribers_statement():
    return (
        select(Subscription.user_id, User.name, User.email, User.role)
        .join(User, User.id == Subscription.user_id)
        .where(Subscription.ticket_id == TICKET_ID)
        .order_by(User.email)
    )


def subscribers(ticket_id):
    """The ticket's subscribers, by e-mail."""
    return [
        SubscriberView(row.user_id, Person(row.user_id, row.name, row.email, row.role))
        for row in _run(_subscribers_statement(), ticket_id)
    ]


@functools.cache
def _choices_statement():
    """The inline edits' options in one query: every priority (most urgent last, as the select
    lists them), the categories a ticket may move to (active ones and its own), and the active
    agents who may be assigned it (admins and its category's technicians)."""
    current = bindparam("category_id")
    permitted = (
        select(CategoryPermission.id)
        .where(CategoryPermission.user_id == User.id, CategoryPermission.category_id == current)
        .exists()
    )
    priorities = select(literal_column("'p'").label("kind"), Priority.id, Priority.name, Priority.sort_order)
    categories = select(literal_column("'c'"), Category.id, Category.name, literal_column("0")).where(
        (Category.archived.is_(False)) | (Category.id == current)
    )
    agents = (
        select(literal_column("'a'"), User.id, agent_label(), literal_column("0"))
        .outerjoin(AgentAvailability, AgentAvailability.user_id == User.id)
        .where(ACTIVE_AGENT, (User.role == ROLE_ADMIN) | ((User.role == ROLE_TECHNICIAN) & permitted))
    )
    union = union_all(priorities, categories, agents).subquery()
    return select(union).order_by(union.c.kind, union.c.sort_order, union.c.name, union.c.id)


def agent_label():
    """An agent's name as an assignee option: "Ivan IT (away)" while they marked themselves away
    (AgentAvailability, outer-joined by the caller), so whoever assigns them sees it."""
    return case((AgentAvailability.away.is_(True), User.name + " (away)"), else_=User.name)


def edit_choices(ticket):
    """{"priorities": [(id, name)], "categories": [(id, name)], "agents": [(id, name)]} for the
    ticket's inline edits (the caller keeps the categories the agent may use: policy)."""
    found = {"p": [], "c": [], "a": []}
    params = {"category_id": ticket.category_id}
    for row in db.session.connection().execute(_choices_statement(), params):
        found[row.kind].append((row.id, row.name))
    return {"priorities": found["p"], "categories": found["c"], "agents": found["a"]}
