"""Agent edits of a ticket (status, priority, category, assignee, tags), guarded by the version seen.

Every edit: the actor may edit the ticket (policy), the ticket row is locked and its version
compared with the one the agent's form carried (a stale form is refused with StaleUpdate, never
silently overwriting), a real change bumps the version and writes one history entry.
"""

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from helpdesk import events, policy
from helpdesk.accounts.models import (
    ACTIVE_AGENT,
    ROLE_ADMIN,
    ROLE_TECHNICIAN,
    CategoryPermission,
    Organization,
    User,
)
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets import reply_drafts, sla
from helpdesk.tickets.models import (
    IN_TIME,
    OPEN_STATUSES,
    STATUS_LABELS,
    STATUS_RESOLVED,
    STATUSES,
    Category,
    Message,
    Ticket,
    TicketEvent,
    TicketTag,
)

MAX_TAGS = 20
MAX_TAG_LENGTH = 50
FIELD_LABELS = {
    "status": "Status",
    "priority": "Priority",
    "category": "Category",
    "assignee": "Assignee",
    "tags": "Tags",
}


def lock_for_edit(ticket, actor, seen_version, field):
    """Lock the ticket row, refresh it, and check the version the agent saw.

    Guarantees: NotAllowed if the actor may not edit it; StaleUpdate (naming the field's current
    value) if another change was saved since the agent's view; otherwise the row stays locked
    until commit (PostgreSQL; SQLite writers are serialised by BEGIN IMMEDIATE).
    """
    if not policy.can_edit_ticket(actor, ticket):
        raise NotAllowed("You may not change this ticket.")
    tickets.lock_row(ticket)
    db.session.expire(ticket, ["tags", "subscriptions"])
    if seen_version != ticket.version:
        raise StaleUpdate(
            f"Someone else changed this ticket while you were looking at it. "
            f"{FIELD_LABELS[field]} is now “{current_display(ticket, field)}”; your change was not saved."
        )


def current_display(ticket, field):
    """The field's value as the page shows it."""
    if field == "status":
        return ticket.status_label
    if field == "priority":
        return ticket.priority.name
    if field == "category":
        return ticket.category.name
    if field == "assignee":
        return ticket.assignee.name if ticket.assignee else "Unassigned"
    return ", ".join(ticket.tag_names) or "no tags"


def _changed(ticket, actor, field, old, new):
    ticket.version += 1
    ticket.updated_at = utcnow()
    tickets.record_event(ticket, actor, field, old, new)  # after the bump: its receivers see the new version
    db.session.flush()
    return True


def change_status(ticket, actor, status, seen_version):
    """Set the status; True if it changed. Resolving stamps resolved_at, reopening clears it."""
    if status not in STATUSES:
        raise ValidationFailed("Choose one of the listed statuses.")
    lock_for_edit(ticket, actor, seen_version, "status")
    if ticket.status == status:
        return False
    tickets.set_status(ticket, actor, status)  # records the event and bumps the version
    return True


def confirmation(ticket, field, result):
    """The confirmation an agent sees after an edit (the refund named when one was booked)."""
    if not result:
        return f"{FIELD_LABELS[field]} unchanged."
    text = f"{FIELD_LABELS[field]} saved: {current_display(ticket, field)}"
    refund = getattr(result, "refund", None)
    if refund is not None:
        text += f" — {refund.amount:,} credits refunded to {refund.account.owner_name}’s bank"
    return text + "."


def change_category(ticket, actor, category_id, seen_version):
    """Move the ticket to a category the actor may use; an assignee not permitted there is unassigned."""
    category = db.session.get(Category, category_id) if category_id else None
    if category is None or category.archived:
        raise ValidationFailed("Choose one of the listed categories.")
    if not policy.can_use_category(actor, category.id):
        raise NotAllowed(f"You may not move tickets to {category.name}.")
    lock_for_edit(ticket, actor, seen_version, "category")
    old = ticket.category
    if old.id == category.id:
        return False
    ticket.category = category
    ticket.category_id = category.id
    sla.category_changed(ticket, old.id, utcnow())
    if ticket.assignee is not None and not policy.can_be_assigned(ticket.assignee, ticket):
        tickets.record_event(ticket, actor, "assignee", ticket.assignee.name, None)
        ticket.assignee = None
    return _changed(ticket, actor, "category", old.name, category.name)


CHOOSE_AGENT = "Choose one of the listed agents."


def listed_agent(user):
    """Whether `user` is an active agent, one the assignee lists may offer: a refusal may name
    them; anyone else is refused without their name (CHOOSE_AGENT)."""
    return user is not None and user.active and user.is_agent


def change_assignee(ticket, actor, assignee_id, seen_version):
    """Assign an agent permitted for the ticket's category, or nobody (assignee_id None); a new
    assignee is announced (`events.ticket_assigned`, in this transaction). Someone who is not an
    active agent is refused without their name."""
    assignee = db.session.get(User, assignee_id) if assignee_id else None
    # The assignee a resolved or closed ticket kept, sent back unchanged (its page lists them)
    kept = assignee_id is not None and assignee_id == ticket.assignee_id
    if assignee_id and not kept and not listed_agent(assignee):
        raise ValidationFailed(CHOOSE_AGENT)
    if not kept and not policy.can_be_assigned(assignee, ticket):
        raise NotAllowed(f"{assignee.name} cannot work tickets in {ticket.category.name}.")
    lock_for_edit(ticket, actor, seen_version, "assignee")
    old = ticket.assignee
    if (old.id if old else None) == (assignee.id if assignee else None):
        return False
    ticket.assignee = assignee
    _changed(ticket, actor, "assignee", old.name if old else None, assignee.name if assignee else None)
    if assignee is not None:
        events.ticket_assigned.send(ticket=ticket, assignee=assignee, actor=actor)
    return True


def release_unworkable(user, actor):
    """Open tickets assigned to `user` that they may no longer work (deactivated, no longer an
    agent, their category taken away) go back to Unassigned, so they show in "Unassigned" and
    "Needs attention" instead of waiting on someone who cannot answer; each gets a history entry
    by `actor` and a new version (a page open on it sees the change). Returns how many."""
    assigned = db.session.scalars(
        select(Ticket)
        .where(Ticket.assignee_id == user.id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id)
    ).all()
    released = 0
    for ticket in assigned:
        if policy.can_be_assigned(user, ticket):
            continue
        tickets.lock_row(ticket)
        if ticket.assignee_id != user.id:  # reassigned meanwhile
            continue
        ticket.assignee = None
        _changed(ticket, actor, "assignee", user.name, None)
        released += 1
    return released


def parse_tags(raw):
    """Comma-separated tags, trimmed, lower-cased, unique, in order; raises on too many or too long."""
    names = []
    for part in (raw or "").split(","):
        name = " ".join(part.split()).lower()
        if name and name not in names:
            if len(name) > MAX_TAG_LENGTH:
                raise ValidationFailed(f"Tags are at most {MAX_TAG_LENGTH} characters.")
            names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationFailed(f"A ticket has at most {MAX_TAGS} tags.")
    return names


def set_tags(ticket, actor, raw, seen_version):
    """Replace the ticket's tags with the given comma-separated list."""
    names = parse_tags(raw)
    lock_for_edit(ticket, actor, seen_version, "tags")
    old = list(ticket.tag_names)
    if sorted(old) == sorted(names):
        return False
    ticket.tags = [t for t in ticket.tags if t.name in names]
    db.session.flush()  # deletes go out before inserts hit the unique (ticket, name) constraint
    ticket.tags.extend(TicketTag(name=n) for n in names if n not in old)
    return _changed(ticket, actor, "tags", ", ".join(old) or None, ", ".join(sorted(names)) or None)


def reply(ticket, actor, body, *, mode, key=None, from_reply_box=True):
    """An agent's public reply ("reply"), internal note ("note") or reply that resolves ("resolve").

    A resent form (same `key`), or the same text as the agent's previous message of its kind on
    the ticket sent again within minutes from a restored form (lifecycle.send_message's
    repeat_guard), adds no second message; resolving twice changes nothing more.
    The agent's reply draft on the ticket (the reply box's, reply_drafts) is deleted with what the
    reply box sends; a note from the page's separate note box (`from_reply_box` False) keeps it.
    Returns (message, created).
    """
    message, created = tickets.send_message(
        ticket, actor, body, internal=mode == "note", staging_key=key or None, repeat_guard=True
    )
    # the box's draft goes with the sending, in its transaction
    reply_drafts.discard(actor, ticket.id, reply_drafts.REPLY if from_reply_box else reply_drafts.NOTE)
    if mode == "resolve":
        tickets.set_status(ticket, actor, STATUS_RESOLVED)
    return message, created


def assignable_agents(ticket):
    """(id, name) of active agents who may be assigned this ticket: admins and its category's technicians."""
    permitted = exists().where(
        CategoryPermission.user_id == User.id, CategoryPermission.category_id == ticket.category_id
    )
    query = select(User.id, User.name).where(
        ACTIVE_AGENT,  # the partial index of active agents, in name order
        (User.role == ROLE_ADMIN) | ((User.role == ROLE_TECHNICIAN) & permitted),
    )
    return db.session.execute(query.order_by(User.name)).all()


def movable_categories(actor, ticket):
    """(id, name) of active categories the actor may move this ticket to, plus its current one."""
    query = select(Category.id, Category.name).where(
        (Category.archived.is_(False)) | (Category.id == ticket.category_id)
    )
    rows = db.session.execute(query.order_by(Category.name)).all()
    return [r for r in rows if r.id == ticket.category_id or policy.can_use_category(actor, r.id)]


person = tickets.person  # joined for display (lifecycle.person); its callers import it from here


def load_ticket(ticket_id):
    """The ticket with what its page shows (names and tags), in one query; None if it does not exist.

    Access is not decided here: the caller asks the policy (and answers 404).
    """
    return db.session.scalars(_LOAD_TICKET, {"ticket_id": ticket_id}).unique().one_or_none()


# Built once (its value is the bind parameter ticket_id). The tags are joined rather than read by a
# second query: a ticket has a handful, and the API's ticket read is one round trip shorter.
_LOAD_TICKET = (
    select(Ticket)
    .where(Ticket.id == bindparam("ticket_id"))
    .options(
        person(Ticket.requester),
        person(Ticket.assignee),
        joinedload(Ticket.organization).lazyload(Organization.members),
        joinedload(Ticket.category),
        joinedload(Ticket.priority),
        joinedload(Ticket.tags),
    )
)


FOR_WRITE = (
    select(Ticket)
    .where(Ticket.id == bindparam("ticket_id"))
    .options(
        person(Ticket.requester),
        lazyload(Ticket.assignee),
        lazyload(Ticket.organization),
        lazyload(Ticket.category),
        lazyload(Ticket.priority),
    )
)  # every reply runs it: built once


def load_for_write(ticket_id):
    """The ticket for a write that redirects (a reply): the row and its requester (whom the mail
    goes to), nothing a page shows; None if it does not exist. load_ticket adds the rest if a page
    is shown after all."""
    return db.session.scalars(FOR_WRITE, {"ticket_id": ticket_id}).one_or_none()


def conversation(ticket):
    """Every message with its author and attachments (agents see internal notes), in time order,
    in two queries."""
    return db.session.scalars(
        select(Message)
        .where(Message.ticket_id == ticket.id)
        .options(person(Message.author), selectinload(Message.attachments))
        .order_by(*IN_TIME)
    ).all()


HISTORY_EXCERPT = 20  # changes shown beside the conversation; the history page has them all


def history_query(ticket):
    """Every change of the ticket, newest first (to paginate)."""
    return (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .options(person(TicketEvent.actor))
        .order_by(TicketEvent.id.desc())
    )


def recent_history(ticket, limit=HISTORY_EXCERPT):
    """(the latest `limit` changes as display entries, whether there are older ones)."""
    events = db.session.scalars(history_query(ticket).limit(limit + 1)).all()
    return describe_events(events[:limit]), len(events) > limit


def describe_events(events):
    """History entries as display text: who, what, when."""
    return [
        {
            "who": e.actor.name if e.actor else "System",
            "what": describe_event(e),
            "at": e.created_at,
        }
        for e in events
    ]


def describe_event(event):
    """One change in words ("changed status from Open to Resolved"); `event` is a TicketEvent or
    a row with its field, old_value and new_value."""

    def show(value):
        if event.field == "status" and value in STATUS_LABELS:
            return STATUS_LABELS[value]
        return value if value not in (None, "") else "none"

    if event.field == "created":
        return f"created the ticket ({event.new_value})"
    if event.old_value is None and event.new_value is not None and event.field not in FIELD_LABELS:
        return f"{event.field}: {event.new_value}"
    if event.field not in FIELD_LABELS:
        return f"{event.field}: {show(event.old_value)}"
    return f"changed {event.field} from {show(event.old_value)} to {show(event.new_value)}"
