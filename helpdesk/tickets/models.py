"""Tickets and what hangs off them: categories, priorities, messages, attachments, tags, history."""

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.querying import transaction_info
from helpdesk.rendering import stored_html
from helpdesk.tickets import search_schema as search

STATUS_NEW = "new"
STATUS_OPEN = "open"
STATUS_WAITING = "waiting"
STATUS_RESOLVED = "resolved"
STATUS_CLOSED = "closed"
STATUSES = (STATUS_NEW, STATUS_OPEN, STATUS_WAITING, STATUS_RESOLVED, STATUS_CLOSED)
ACTIVE_SQL = "status IN ('new', 'open', 'waiting')"  # the open statuses, as partial indexes name them
ACTIVE_WHERE = text(ACTIVE_SQL)
OPEN_STATUSES = (STATUS_NEW, STATUS_OPEN, STATUS_WAITING)
STATUS_LABELS = {
    STATUS_NEW: "New",
    STATUS_OPEN: "Open",
    STATUS_WAITING: "Waiting on customer",
    STATUS_RESOLVED: "Resolved",
    STATUS_CLOSED: "Closed",
}


class Category(db.Model):
    __tablename__ = "categories"
    # Names are unique ignoring case (services/names.py says so first, with a clear message).
    __table_args__ = (Index("uq_categories_lower_name", text("lower(name)"), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # What belongs here, in a sentence: shown beside the new-ticket form's category list and on
    # the knowledge base's category pages ("" shows nothing).
    description: Mapped[str] = mapped_column(String(200), default="", server_default=text("''"))
    archived: Mapped[bool] = mapped_column(default=False)

    def __repr__(self):
        return f"<Category {self.name}>"


class Priority(db.Model):
    """A response level with its targets; the credits service adds its tariff."""

    __tablename__ = "priorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    sort_order: Mapped[int] = mapped_column(default=0)  # higher = more urgent
    response_minutes: Mapped[int]  # first-response target
    resolution_minutes: Mapped[int | None] = mapped_column()  # optional resolution target
    # True: the targets count the ticket's business hours; False: round the clock (24x7).
    business_hours: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    # Per cent of what was paid that comes back when the resolution target is missed (0: none;
    # credits.plans keeps it within 0-100).
    resolution_refund_percent: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    credit_cost: Mapped[int] = mapped_column(default=0)  # tariff: 0 = free; kept by credits.plans

    def __repr__(self):
        return f"<Priority {self.name}>"


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("requester_id", "submission_key"),
        db.CheckConstraint("status IN ('new', 'open', 'waiting', 'resolved', 'closed')", name="status_valid"),
        Index("ix_tickets_due", "due_at", "id"),
        Index("ix_tickets_updated", "updated_at", "id"),
        Index("ix_tickets_category_status", "category_id", "status"),
        # The reports' period: tickets opened, and resolved, within it (reports/metrics.py).
        Index("ix_tickets_created", "created_at"),
        Index("ix_tickets_resolved", "resolved_at"),
        Index("ix_tickets_priority_due", "priority_id", "due_at", "id"),  # the queue's priority sort
        # "Needs attention": unanswered tickets by reply-by time, answered ones by resolve-by time.
        Index(
            "ix_tickets_unanswered_due",
            "due_at",
            "id",
            sqlite_where=text("first_response_at IS NULL"),
            postgresql_where=text("first_response_at IS NULL"),
        ),
        Index(
            "ix_tickets_resolution_due",
            "resolution_due_at",
            "id",
            sqlite_where=text("resolution_due_at IS NOT NULL"),
            postgresql_where=text("resolution_due_at IS NOT NULL"),
        ),
        # The queue's active tickets (its default status filter, queue.CONDITIONS["active"], writes
        # the same list into its SQL): resolved and closed tickets keep their deadlines, and on a
        # desk where most tickets are closed the indexes above walked through all of them before
        # finding a page of active ones (bench/README.md, issue 19).
        Index(
            "ix_tickets_active_due", "due_at", "id", sqlite_where=ACTIVE_WHERE, postgresql_where=ACTIVE_WHERE
        ),
        # "Needs attention"'s unanswered groups walk it by reply-by time. Its last three columns
        # are what those groups test (the viewer's categories, paid, at risk): the index alone
        # tells which entries to skip, without reading their rows (queue.attention_groups).
        Index(
            "ix_tickets_active_unanswered_due",
            "due_at",
            "id",
            "category_id",
            "paid_credits",
            "response_warn_at",
            "status",  # for one status asked ("Waiting on customer"): unanswered ones are mostly new
            sqlite_where=text(f"{ACTIVE_SQL} AND first_response_at IS NULL"),
            postgresql_where=text(f"{ACTIVE_SQL} AND first_response_at IS NULL"),
        ),
        # Paid tickets not yet answered, by reply-by time: "Needs attention"'s first group (paid
        # and at risk) walks these only. Walking all unanswered tickets for it cost most on a desk
        # that keeps its promises: with no paid ticket at risk, it read every one of them (3 ms
        # of SQL on 4,000 unanswered tickets, against 0.3; bench/README.md).
        Index(
            "ix_tickets_active_unanswered_paid_due",
            "due_at",
            "id",
            "category_id",  # what the group tests, as above
            "response_warn_at",
            "status",
            sqlite_where=text(f"{ACTIVE_SQL} AND first_response_at IS NULL AND paid_credits > 0"),
            postgresql_where=text(f"{ACTIVE_SQL} AND first_response_at IS NULL AND paid_credits > 0"),
        ),
        # One agent's (or nobody's) active tickets in the queue's orders: the console's "Mine" and
        # "Unassigned" views walk these instead of reading all of that agent's tickets and sorting
        # them (12 ms of SQL for an agent with 10,000 active tickets; bench/README.md).
        Index(
            "ix_tickets_active_assignee_updated",
            "assignee_id",
            "updated_at",
            "id",
            sqlite_where=ACTIVE_WHERE,
            postgresql_where=ACTIVE_WHERE,
        ),
        # One agent's (or nobody's) answered active tickets, latest update first: the last group
        # of "Needs attention" for "Mine" and "Unassigned". Through the index of all their active
        # tickets, "Unassigned" walked every unanswered unassigned ticket looking for an answered
        # one (PostgreSQL expected many: 5 ms of the page's 6.4 on the bench desk; bench/README.md).
        Index(
            "ix_tickets_active_answered_assignee_updated",
            "assignee_id",
            "updated_at",
            "id",
            sqlite_where=text(f"{ACTIVE_SQL} AND first_response_at IS NOT NULL"),
            postgresql_where=text(f"{ACTIVE_SQL} AND first_response_at IS NOT NULL"),
        ),
        Index(
            "ix_tickets_active_assignee_unanswered_due",
            "assignee_id",
            "due_at",
            "id",
            "category_id",  # what "Needs attention"'s unanswered groups test, as above
            "paid_credits",
            "response_warn_at",
            sqlite_where=text(f"{ACTIVE_SQL} AND first_response_at IS NULL"),
            postgresql_where=text(f"{ACTIVE_SQL} AND first_response_at IS NULL"),
        ),
        Index(
            "ix_tickets_active_resolution_due",
            "resolution_due_at",
            "id",
            sqlite_where=text(f"{ACTIVE_SQL} AND resolution_due_at IS NOT NULL"),
            postgresql_where=text(f"{ACTIVE_SQL} AND resolution_due_at IS NOT NULL"),
        ),
        Index(
            "ix_tickets_active_priority_due",
            "priority_id",
            "due_at",
            "id",
            sqlite_where=ACTIVE_WHERE,
            postgresql_where=ACTIVE_WHERE,
        ),
        # The queue filtered by one status or one assignee (or nobody), in each of its orders, over
        # every status: the filter sought, then a page walked in order (queue._walks). Without them
        # "my tickets, all statuses, latest first" read all 10,000 of an agent's tickets and sorted
        # them (155 ms of SQL on the 100,000-ticket bench desk; "waiting, by priority" 80-250 ms).
        # They also serve the foreign key and the status lookups the one-column indexes served.
        # (An agent's active tickets come last by due time, after their closed ones: "Mine" by due
        # time or priority walks the active ones' own indexes.)
        Index(
            "ix_tickets_active_assignee_due",
            "assignee_id",
            "due_at",
            "id",
            sqlite_where=ACTIVE_WHERE,
            postgresql_where=ACTIVE_WHERE,
        ),
        Index(
            "ix_tickets_active_assignee_priority_due",
            "assignee_id",
            "priority_id",
            "due_at",
            "id",
            sqlite_where=ACTIVE_WHERE,
            postgresql_where=ACTIVE_WHERE,
        ),
        Index("ix_tickets_assignee_due", "assignee_id", "due_at", "id"),
        Index("ix_tickets_assignee_updated", "assignee_id", "updated_at", "id"),
        Index("ix_tickets_assignee_priority_due", "assignee_id", "priority_id", "due_at", "id"),
        Index("ix_tickets_status_due", "status", "due_at", "id"),
        Index("ix_tickets_status_updated", "status", "updated_at", "id"),
        Index("ix_tickets_status_priority_due", "status", "priority_id", "due_at", "id"),
        # The agent console's view counts (tickets.views_builtin): every column their conditions
        # read, for active tickets only, so counting reads this index and never the table. The
        # queries write the statuses out (views_builtin.ACTIVE) so both databases can prove they match it.
        Index(
            "ix_tickets_active_views",
            "category_id",
            "status",
            "assignee_id",
            "first_response_at",
            "response_warn_at",
            "due_at",
            "resolution_warn_at",
            "resolution_due_at",
            sqlite_where=text("status IN ('new', 'open', 'waiting')"),
            postgresql_where=text("status IN ('new', 'open', 'waiting')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)  # see stored_html_of: written with the body
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    priority_id: Mapped[int] = mapped_column(ForeignKey("priorities.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=STATUS_NEW)  # indexed by ix_tickets_status_*
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # by ix_tickets_assignee_*
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    first_response_at = mapped_column(UTCDateTime)
    resolved_at = mapped_column(UTCDateTime)
    # Service-level clocks, computed on the ticket's calendar when it is opened and when its
    # priority or category changes (tickets/sla.py); a calendar edit never moves them.
    due_at = mapped_column(UTCDateTime, nullable=False)  # first response due ("reply by")
    response_warn_at = mapped_column(UTCDateTime)  # SLA_WARN_AT per cent of the response target used
    resolution_due_at = mapped_column(UTCDateTime)  # "resolve by"; None without a target or while paused
    resolution_warn_at = mapped_column(UTCDateTime)
    # "Waiting on customer" stops the resolution clock: since when, and the clock minutes not counted
    # before (paused, and the time before a raise restarted the clock: sla.priority_changed).
    resolution_paused_at = mapped_column(UTCDateTime)
    resolution_paused_minutes: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    response_warned_at = mapped_column(UTCDateTime)  # when the at-risk warning went out (once)
    resolution_warned_at = mapped_column(UTCDateTime)
    # Credits paid for the priority, net of refunds: kept by credits.ledger with every entry.
    paid_credits: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Set by the form when it is rendered: a resubmitted form finds its ticket instead of a twin.
    submission_key: Mapped[str | None] = mapped_column(String(64))
    # Optimistic concurrency: agents' edits carry the version they saw.
    version: Mapped[int] = mapped_column(default=1)
    # Set when this ticket was merged into another (tickets/merging.py): it is closed, and mail
    # answering it lands on that one.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    requester = relationship("User", foreign_keys=[requester_id], lazy="joined")
    assignee = relationship("User", foreign_keys=[assignee_id], lazy="joined")
    organization = relationship("Organization", lazy="joined")
    category = relationship("Category", lazy="joined")
    priority = relationship("Priority", lazy="joined")
    messages = relationship(
        "Message",
        back_populates="ticket",
        order_by="(Message.created_at, Message.id)",
        cascade="all, delete-orphan",
    )
    attachments = relationship("Attachment", back_populates="ticket", order_by="Attachment.id")
    tags = relationship(
        "TicketTag", back_populates="ticket", order_by="TicketTag.name", cascade="all, delete-orphan"
    )
    subscriptions = relationship("Subscription", back_populates="ticket", cascade="all, delete-orphan")

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def tag_names(self):
        return [t.name for t in self.tags]


SOURCE_CREDITS = "credits"  # Message.source of a system message about money


class Message(db.Model):
    """A public reply or an internal note on a ticket."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("author_id", "submission_key"),
        # A ticket's conversation in time order (IN_TIME), read from either end (the latest window)
        Index("ix_messages_ticket_time", "ticket_id", "created_at", "id"),
        # Each message's place in its ticket's feed (`sequence`): the API's after_sequence cursor
        Index("uq_messages_ticket_sequence", "ticket_id", "sequence", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)  # see stored_html_of: written with the body
    internal: Mapped[bool] = mapped_column(default=False)
    # web, email, system, or credits: a system message about what was paid or refunded, which only
    # those who may see the ticket's charges read (policy.can_see_ticket_charges)
    source: Mapped[str] = mapped_column(String(20), default="web")
    submission_key: Mapped[str | None] = mapped_column(String(64))  # a resent form adds nothing
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The order in which messages reached this ticket, committed in that order (next_sequence):
    # written, or moved here by a merge (a merged message's id is older than the kept ticket's
    # latest, its sequence newer). Set on every insert; NULL only for a row a Core INSERT skipped.
    sequence: Mapped[int | None] = mapped_column()

    ticket = relationship("Ticket", back_populates="messages")
    author = relationship("User", lazy="joined")
    attachments = relationship("Attachment", back_populates="message", order_by="Attachment.id")


# A conversation's order: when each message was written, the id between messages of the same
# time. Not the id alone: a duplicate's messages merged into a ticket (tickets/merging.py), its
# description among them, keep their times, and the description gets a new id.
IN_TIME = (Message.created_at, Message.id)

search.install(Ticket.__table__, Message.__table__)  # each ticket's search documents (models/search.py)


class Attachment(db.Model):
    """A file stored under a random name outside the web root."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None while staged: uploaded with a form that has not been accepted yet (kept for the retry).
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    staging_key: Mapped[str | None] = mapped_column(String(64), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))  # normalised, safe to show
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    ticket = relationship("Ticket", back_populates="attachments")
    message = relationship("Message", back_populates="attachments")


class TicketDraft(db.Model):
    """A new-ticket form kept on the server while its author buys credits, switches plan or asks a
    manager; its files stay staged under its submission key. Expires a day after its last save."""

    __tablename__ = "ticket_drafts"
    __table_args__ = (UniqueConstraint("user_id", "submission_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    submission_key: Mapped[str] = mapped_column(String(64))  # the form's: its staged files, its ticket
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"))
    priority_id: Mapped[int | None] = mapped_column(ForeignKey("priorities.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False, index=True)

    priority = relationship("Priority", lazy="joined")


class TicketTag(db.Model):
    __tablename__ = "ticket_tags"
    __table_args__ = (UniqueConstraint("ticket_id", "name"), Index("ix_ticket_tags_name", "name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))

    ticket = relationship("Ticket", back_populates="tags")


class Subscription(db.Model):
    """A regular user following one ticket: sees it, may reply, takes no seat."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("ticket_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    ticket = relationship("Ticket", back_populates="subscriptions")
    user = relationship("User", foreign_keys=[user_id], lazy="joined")


class TicketEvent(db.Model):
    """History: who changed which field of a ticket, from what to what, and when."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(String(400))
    new_value: Mapped[str | None] = mapped_column(String(400))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    actor = relationship("User", lazy="joined")


class BusinessCalendar(db.Model):
    """When the desk (or one category's team) is open: a time zone, open intervals per weekday,
    closed dates, and optionally a country's public holidays. The calendar without a category is
    the default; a category may have its own. `always_open` is a round-the-clock calendar."""

    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), unique=True
    )  # None: the default calendar
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    always_open: Mapped[bool] = mapped_column(default=False)
    holiday_country: Mapped[str | None] = mapped_column(String(2))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(10))
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    category = relationship("Category")
    updated_by = relationship("User")
    intervals = relationship(
        "CalendarInterval",
        cascade="all, delete-orphan",
        order_by="(CalendarInterval.weekday, CalendarInterval.start_minute)",
        lazy="selectin",
    )
    closures = relationship(
        "CalendarClosure", cascade="all, delete-orphan", order_by="CalendarClosure.day", lazy="selectin"
    )


class CalendarInterval(db.Model):
    """Open from start_minute to end_minute after local midnight on a weekday (0 = Monday);
    an end at or before the start runs past midnight into the next day (an overnight shift)."""

    __tablename__ = "calendar_intervals"
    __table_args__ = (
        db.CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_valid"),
        db.CheckConstraint("start_minute >= 0 AND start_minute < 1440", name="start_valid"),
        db.CheckConstraint("end_minute > 0 AND end_minute <= 1440", name="end_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int]
    start_minute: Mapped[int]
    end_minute: Mapped[int]


class CalendarClosure(db.Model):
    """A named date on which the calendar is closed all day (a company holiday, a move)."""

    __tablename__ = "calendar_closures"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id", ondelete="CASCADE"))
    day = mapped_column(Date, nullable=False)
    name: Mapped[str] = mapped_column(String(100))


# --- Round-robin assignment (issue 16 item 8) ------------------------------------------------------
class RoundRobinCategory(db.Model):
    """A category whose new unassigned tickets go to its opted-in technicians in turn. The row is
    also the turn's pointer (the last agent given one), locked while a ticket takes its turn."""

    __tablename__ = "round_robin_categories"

    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    last_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# --- Seeing each other work (issue 16 item 6): presence and agents' reply drafts ------------------
# Request-serving state that must hold across app servers lives in these tables, never in a process.


class TicketPresence(db.Model):
    """An agent on a ticket's page as their last heartbeat said (one row per ticket and agent):
    present until `expires_at`, writing a reply until `writing_until`."""

    __tablename__ = "ticket_presence"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seen_at = mapped_column(UTCDateTime, nullable=False)
    writing_until = mapped_column(UTCDateTime, nullable=True)
    expires_at = mapped_column(UTCDateTime, nullable=False, index=True)


class ReplyDraft(db.Model):
    """What an agent is writing on a ticket, saved while they type: their own, one per ticket and
    box (`kind`: the reply box's "reply", the internal note box's "note")."""

    __tablename__ = "reply_drafts"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True, default="reply", server_default="reply")
    body: Mapped[str] = mapped_column(Text)
    submission_key: Mapped[str] = mapped_column(String(64), default="")  # the form that saved it
    updated_at = mapped_column(UTCDateTime, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False, index=True)


def stored_html_of(mapper, connection, target):
    """A ticket's description and a message are rendered (Markdown, then sanitised:
    rendering.render_user_text) once, when their text is written, and the HTML is kept beside it
    in `body_html`: their pages show it instead of rendering every message on every view. Rows
    written before migration 0037 have NULL, which the pages render as before until `flask
    tickets render-bodies` fills them in. (Core INSERTs skip this hook: the bulk seeder writes
    the HTML itself.)"""
    state = inspect(target)
    if state.attrs.body.history.has_changes() or target.body_html is None:
        target.body_html = stored_html(target.body)


for _model in (Ticket, Message):
    event.listen(_model, "before_insert", stored_html_of)
    event.listen(_model, "before_update", stored_html_of)


SEQUENCES_GIVEN = "message_sequences"  # transaction_info(): ticket id -> the last sequence given


def next_sequence(connection, ticket_id, count=1):
    """The first of `count` new sequence numbers of `ticket_id`'s messages (Message.sequence).
    Until commit, the transaction holds the ticket's row lock (PostgreSQL: FOR NO KEY UPDATE, the
    lock the message's search trigger takes on its ticket anyway; SQLite writers are serialised by
    BEGIN IMMEDIATE), so the next writer of a message to the ticket waits and numbers after it:
    sequences are committed in their order, and a reader that saw sequence n never sees a smaller
    one appear later (an id can: a merge moves older messages, and concurrent inserts commit in
    any order). The row, not a lock of its own: writers that lock the ticket first (a merge, a
    refund) and writers whose message comes first (a reply) then take the locks in one order; with
    an advisory lock besides the row's, a reply and a merge into its ticket waited on each other."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update(key_share=True))
    latest = connection.scalar(select(func.max(Message.sequence)).where(Message.ticket_id == ticket_id))
    # One flush numbers all its messages before it inserts any (a ticket written with its
    # messages): what this transaction gave out counts too.
    given = transaction_info().setdefault(SEQUENCES_GIVEN, {})
    first = max(latest or 0, given.get(ticket_id, 0)) + 1
    given[ticket_id] = first + count - 1
    return first


@event.listens_for(Message, "before_insert")
def _number_message(mapper, connection, target):
    if target.sequence is None:
        target.sequence = next_sequence(connection, target.ticket_id)
