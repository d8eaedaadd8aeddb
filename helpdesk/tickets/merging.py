"""Merge a duplicate ticket into the ticket that is kept (the customer wrote by mail and in the
portal, or twice).

Guarantees: only an agent who may edit both tickets, and only tickets of the same requester or
organization (policy.can_merge_tickets); never a ticket into itself, a ticket already merged, or
into a closed or merged one. In one transaction, with both rows locked (lowest id first): the
duplicate's description becomes a message of the kept ticket (its author and time kept, the files
sent with it listed with it), its messages and attachments move, its subscribers follow the kept
ticket (and its requester too, when the kept ticket is another member's), `ticket_merged` lets the
domains above move what they keep (credits: time entries, and the refund of an unanswered
duplicate's priority), then the duplicate is closed with a message linking to the kept ticket and
remembers it (`merged_into_id`: mail answering it lands on the kept ticket). Both get a history
entry.

The kept ticket carries on the request (`takeover`, asked before the agent confirms and applied
by `merge`): it opens again when the duplicate brings a customer's message that no agent has
answered (it waited on the customer, or was resolved: the customer's reply path,
`lifecycle.customer_wrote`); it takes the duplicate's priority when that is more urgent, at no
charge (the duplicate's payment is the credits domain's: `ticket_merged`); and the duplicate's
assignee when it has none and they may work it. Each change has its history entry.
"""

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update

from helpdesk import events, policy
from helpdesk.accounts.models import AGENT_ROLES, User
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import (
    IN_TIME,
    STATUS_CLOSED,
    STATUS_RESOLVED,
    STATUS_WAITING,
    Attachment,
    Message,
    Subscription,
    Ticket,
    next_sequence,
)

MAX_CHAIN = 20


def kept_ticket(ticket):
    """The ticket mail for `ticket` belongs to: itself, or the one it was merged into (followed)."""
    for _ in range(MAX_CHAIN):
        if ticket is None or ticket.merged_into_id is None:
            return ticket
        ticket = db.session.get(Ticket, ticket.merged_into_id)
    return ticket


def refusal(duplicate, kept, actor):
    """Why `actor` may not merge `duplicate` into `kept` (a sentence for the agent), or None.
    `kept` must be a ticket the actor may see. Asked before the agent confirms, and again by
    `merge` once both rows are locked."""
    if duplicate.id == kept.id:
        return "A ticket cannot be merged into itself: give the number of the ticket to keep."
    if not policy.can_merge_tickets(actor, duplicate, kept):
        return (
            f"#{kept.id} is another customer's ticket: only tickets of the same requester or"
            " organization can be merged."
        )
    if duplicate.merged_into_id is not None:
        return f"#{duplicate.id} was already merged into #{duplicate.merged_into_id}."
    if kept.merged_into_id is not None:
        return f"#{kept.id} was merged into #{kept.merged_into_id}: merge into that one."
    if kept.status == STATUS_CLOSED:
        return f"#{kept.id} is closed: reopen it first, or keep this ticket instead."
    return None


@dataclass(frozen=True)
class Takeover:
    """What a merge changes on the kept ticket besides its conversation."""

    reopens: object = None  # the customer whose unanswered message the duplicate brings (User)
    priority: object = None  # the duplicate's priority, more urgent than the kept ticket's
    assignee: object = None  # the duplicate's assignee, taken by a kept ticket that has none
    unassignable: object = None  # the duplicate's assignee, who may not work the kept ticket


def _public(column, ticket_ids, *, agents):
    """`column` of the public messages of these tickets written by agents (or, agents False, by
    customers)."""
    roles = User.role.in_(AGENT_ROLES) if agents else User.role.notin_(AGENT_ROLES)
    return (
        select(column)
        .select_from(Message)
        .join(User, User.id == Message.author_id)
        .where(Message.ticket_id.in_(ticket_ids), Message.internal.is_(False), roles)
    )


def unanswered_customer(duplicate, kept):
    """The customer whose message, brought by `duplicate`, is newer than every public agent reply
    of both tickets (the combined conversation ends with the customer's word), or None. The
    duplicate's description counts as its requester's message of its creation."""
    latest = db.session.scalars(
        _public(Message, [duplicate.id], agents=False)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    when, who = duplicate.created_at, duplicate.requester
    if latest is not None and latest.created_at > when:
        when, who = latest.created_at, latest.author
    answered = db.session.scalar(_public(func.max(Message.created_at), [duplicate.id, kept.id], agents=True))
    if who is None or who.is_agent or (answered is not None and answered >= when):
        return None
    return who


def takeover(duplicate, kept):
    """What merging `duplicate` changes on `kept` (see the module's rules); read only, so the
    question before the merge says what `merge` then does."""
    reopens = None
    if kept.status in (STATUS_WAITING, STATUS_RESOLVED):
        reopens = unanswered_customer(duplicate, kept)
    priority = duplicate.priority if duplicate.priority.sort_order > kept.priority.sort_order else None
    assignee = unassignable = None
    if kept.assignee_id is None and duplicate.assignee is not None:
        if policy.can_be_assigned(duplicate.assignee, kept):
            assignee = duplicate.assignee
        else:
            unassignable = duplicate.assignee
    return Takeover(reopens=reopens, priority=priority, assignee=assignee, unassignable=unassignable)


def _and(words):
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def wrong_way(duplicate, kept):
    """A warning (a sentence for the agent) when `duplicate` is the ticket with the conversation,
    or None. That is the answered one, else the paid one, else the older one, so exactly one of
    the two directions of a merge is warned about."""
    older = (duplicate.created_at, duplicate.id) < (kept.created_at, kept.id)
    answered = duplicate.first_response_at is not None, kept.first_response_at is not None
    paid = duplicate.paid_credits > 0, kept.paid_credits > 0
    if (answered[0], paid[0], older) <= (answered[1], paid[1], not older):
        return None
    traits = ["older"] if older else []
    if answered[0] and not answered[1]:
        traits.append("answered")
    if paid[0] and not paid[1]:
        traits.append(f"paid ({duplicate.paid_credits:,} credits)")
    into = "a newer one" if older else f"#{kept.id}"
    return (
        f"#{duplicate.id} is the {_and(traits)} ticket: you are merging the ticket with the"
        f" conversation into {into}."
    )


def _take_over(changes, duplicate, kept, actor, now):
    """Apply a `takeover` to the kept ticket (locked), each change with its history entry."""
    if changes.reopens is not None and lifecycle.customer_wrote(kept, actor):
        lifecycle.record_event(
            kept,
            actor,
            "opened again",
            None,
            f"#{duplicate.id}, merged in, brought {changes.reopens.name}'s message, which no agent had answered",
        )
    priority = changes.priority
    if priority is not None and priority.sort_order > kept.priority.sort_order:
        events.priority_changing.send(ticket=kept, now=now)  # a paid target it missed is paid back first
        lifecycle.apply_priority(kept, priority, actor, now)
        lifecycle.record_event(
            kept,
            actor,
            "priority given",
            None,
            f"{priority.name} at no charge to the customer: #{duplicate.id}, merged in, had it",
        )
    if changes.assignee is not None and kept.assignee_id is None:
        kept.assignee = changes.assignee
        lifecycle.record_event(kept, actor, "assignee", None, changes.assignee.name)
        events.ticket_assigned.send(ticket=kept, assignee=changes.assignee, actor=actor)


def merge(duplicate, kept, actor):
    """Merge `duplicate` into `kept` (see the module's guarantees). Returns the kept ticket."""
    if kept is None or not policy.can_view_ticket(actor, kept):
        raise NotFound("No ticket with that number that you may see.")
    if duplicate.id != kept.id:
        for ticket in sorted((duplicate, kept), key=lambda t: t.id):
            lifecycle.lock_row(ticket)
    problem = refusal(duplicate, kept, actor)
    if problem:
        raise ValidationFailed(problem)
    now = utcnow()
    changes = takeover(duplicate, kept)  # before the messages move: whose are they
    moved = db.session.scalar(select(db.func.count(Message.id)).where(Message.ticket_id == duplicate.id))
    description = Message(
        ticket=kept,
        author_id=duplicate.requester_id,
        body=f"**{duplicate.subject}** (from #{duplicate.id}, merged)\n\n{duplicate.body}",
        internal=False,
        source="merge",
        created_at=duplicate.created_at,
    )
    db.session.add(description)
    db.session.flush()
    connection = db.session.connection()
    # The duplicate's notice of the merge numbers after every message it had, taken before they
    # leave: numbered after what is left, it took a sequence a client of the duplicate had read.
    closing = next_sequence(connection, duplicate.id)
    # The moved messages come after every message of the kept ticket in its sequence, in their
    # time order: an API client reading after the sequence it saw gets them (their ids are older).
    moving = db.session.scalars(
        select(Message.id).where(Message.ticket_id == duplicate.id).order_by(*IN_TIME)
    ).all()
    if moving:
        first = next_sequence(connection, kept.id, len(moving))
        connection.execute(
            update(Message.__table__).where(Message.__table__.c.id == bindparam("moved")),
            [{"moved": mid, "ticket_id": kept.id, "sequence": first + n} for n, mid in enumerate(moving)],
        )
        moving_ids = set(moving)
        for item in [
            m for m in db.session.identity_map.values() if isinstance(m, Message) and m.id in moving_ids
        ]:
            db.session.expire(item)  # read again with its new ticket and sequence
    # The files sent with the duplicate's description go with it, now a message: left without a
    # message they would be listed under the kept ticket's own description, as its requester's.
    db.session.execute(
        update(Attachment)
        .where(Attachment.ticket_id == duplicate.id, Attachment.message_id.is_(None))
        .values(ticket_id=kept.id, message_id=description.id)
    )
    db.session.execute(
        update(Attachment).where(Attachment.ticket_id == duplicate.id).values(ticket_id=kept.id)
    )
    following = {s.user_id for s in kept.subscriptions} | {kept.requester_id}
    newcomers = [s.user_id for s in duplicate.subscriptions if s.user_id not in following]
    if duplicate.requester_id not in following:
        newcomers.append(duplicate.requester_id)
    for subscription in list(duplicate.subscriptions):
        db.session.delete(subscription)
    db.session.flush()
    for user_id in dict.fromkeys(newcomers):
        db.session.add(Subscription(ticket_id=kept.id, user_id=user_id, added_by_id=actor.id))
    db.session.flush()
    db.session.expire(duplicate, ["messages", "attachments", "subscriptions"])
    db.session.expire(kept, ["messages", "attachments", "subscriptions"])
    events.ticket_merged.send(duplicate=duplicate, kept=kept, actor=actor)
    db.session.add(
        Message(
            ticket=duplicate,
            author=None,
            body=f"This ticket was merged into #{kept.id} ({kept.subject}): the conversation continues there.",
            internal=False,
            source="system",
            created_at=now,
            sequence=closing,
        )
    )
    duplicate.merged_into_id = kept.id
    # Bumped before the history entries: their ticket.updated webhooks carry the version after the
    # merge (an integration's next If-Match), as an edit's do (editing.py).
    duplicate.version += 1
    kept.version += 1
    kept.updated_at = now
    lifecycle.record_event(duplicate, actor, "merged into", None, f"#{kept.id}")
    lifecycle.record_event(kept, actor, "merged", None, f"#{duplicate.id} ({moved} message(s))")
    _take_over(changes, duplicate, kept, actor, now)
    if duplicate.status != STATUS_CLOSED:
        lifecycle.close_merged(duplicate, actor)
    db.session.flush()
    return kept
