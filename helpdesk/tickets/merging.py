"""Merge a duplicate ticket into the ticket that is kept (the customer wrote by mail and in the
portal, or twice).

Guarantees: only an agent who may edit both tickets, and only tickets of the same requester or
organization (policy.can_merge_tickets); never a ticket into itself, a ticket already merged, or
into a closed or merged one. In one transaction, with both rows locked (lowest id first): the
duplicate's description becomes a message of the kept ticket (its author and time kept), its
messages and attachments move, its subscribers follow the kept ticket (and its requester too,
when the kept ticket is another member's), `ticket_merged` lets the domains above move what they
keep (credits: time entries, and the refund of what was paid for the duplicate's priority), then
the duplicate is closed with a message linking to the kept ticket and remembers it
(`merged_into_id`: mail answering it lands on the kept ticket). Both get a history entry.
"""

from sqlalchemy import select, update

from helpdesk import events, policy
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import STATUS_CLOSED, Attachment, Message, Subscription, Ticket

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
    moved = db.session.scalar(select(db.func.count(Message.id)).where(Message.ticket_id == duplicate.id))
    db.session.add(
        Message(
            ticket=kept,
            author_id=duplicate.requester_id,
            body=f"**{duplicate.subject}** (from #{duplicate.id}, merged)\n\n{duplicate.body}",
            internal=False,
            source="merge",
            created_at=duplicate.created_at,
        )
    )
    db.session.execute(update(Message).where(Message.ticket_id == duplicate.id).values(ticket_id=kept.id))
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
        )
    )
    duplicate.merged_into_id = kept.id
    lifecycle.record_event(duplicate, actor, "merged into", None, f"#{kept.id}")
    lifecycle.record_event(kept, actor, "merged", None, f"#{duplicate.id} ({moved} message(s))")
    if duplicate.status != STATUS_CLOSED:
        lifecycle.close_merged(duplicate, actor)
    duplicate.version += 1
    kept.version += 1
    kept.updated_at = now
    db.session.flush()
    return kept
