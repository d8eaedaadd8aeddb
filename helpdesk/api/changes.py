"""Services the API composes from the domains' own: several ticket fields changed at once, and a
ticket opened by a customer or, for one, by an agent. No rule is decided here: each step is the
service the pages call, so the API and the pages cannot disagree."""

import hashlib
import secrets

from helpdesk import policy
from helpdesk.credits import on_behalf, submission
from helpdesk.credits import quotes as credit_quotes
from helpdesk.errors import ConcurrentChange, NotAllowed, StaleUpdate, ValidationFailed
from helpdesk.tickets import editing, lifecycle
from helpdesk.tickets.models import STATUS_CLOSED, STATUS_OPEN

# In this order, each through the service of the console's inline edit of the same field.
EDITS = (
    ("status", editing.change_status),
    ("category_id", editing.change_category),  # before the assignee: a move may unassign
    ("assignee_id", editing.change_assignee),
    ("priority_id", credit_quotes.change_priority_seen),
    ("tags", lambda ticket, actor, tags, seen: editing.set_tags(ticket, actor, ",".join(tags), seen)),
)


def change_ticket(ticket, actor, changes, seen_version):
    """Apply `changes` ({field: value}, only the fields sent) as one change: every edit checks
    the version (the first against `seen_version`, each later one against the version the one
    before left), so a stale If-Match changes nothing; the caller's transaction holds them all.
    Returns the names of the fields that changed."""
    if not changes:
        raise ValidationFailed("Send at least one field to change.")
    if not policy.can_edit_ticket(actor, ticket):
        return _close_or_reopen(ticket, actor, changes, seen_version)
    if seen_version != ticket.version:
        raise StaleUpdate("The ticket changed since you read it: read it again (its ETag is new).")
    changed = []
    for field, service in EDITS:
        if field in changes:
            if service(ticket, actor, changes[field], seen_version):
                changed.append(field)
            seen_version = ticket.version
    return changed


# What a customer may do to their ticket's status, through the portal's own services.
CUSTOMER_STATUS = {STATUS_CLOSED: lifecycle.close_ticket, STATUS_OPEN: lifecycle.reopen_ticket}


def _close_or_reopen(ticket, actor, changes, seen_version):
    """A customer closes or reopens (status "closed" or "open"), as the portal's buttons do; every
    other change is the agents'. Guarded by the version like an agent's edit."""
    service = CUSTOMER_STATUS.get(changes.get("status")) if set(changes) == {"status"} else None
    if service is None or not policy.can_close_or_reopen(actor, ticket):
        raise NotAllowed("You may close or reopen this ticket (status closed or open), nothing else.")
    lifecycle.lock_row(ticket)
    if seen_version != ticket.version:
        raise StaleUpdate("The ticket changed since you read it: read it again (its ETag is new).")
    before = ticket.status
    service(ticket, actor)
    return ["status"] if ticket.status != before else []


def open_ticket(actor, fields, submission_key):
    """A customer's own ticket (credits.submission) or an agent's for a customer
    (credits.on_behalf, with its consent rule for paid priorities). Returns (ticket, created,
    credits charged).

    The submission key finds the ticket this request made already (a retry). A ticket it finds
    that `actor` may not see (a key another form was given on purpose, a category the agent no
    longer works) is never handed back: the request is a new one, under a key made from this one
    (so that its own retries find it), and at last under a fresh key."""
    for attempt in range(3):
        ticket, created, charged = _open_ticket(actor, fields, submission_key)
        if created or policy.can_view_ticket(actor, ticket):
            return ticket, created, charged
        if attempt == 0:
            submission_key = hashlib.sha256(f"{submission_key}\0unseen".encode()).hexdigest()
        else:
            submission_key = secrets.token_hex(32)
    raise ConcurrentChange("The ticket could not be opened: send the request again.")


def _open_ticket(actor, fields, submission_key):
    common = dict(
        subject=fields.subject,
        body=fields.body,
        category_id=fields.category_id,
        priority_id=fields.priority_id,
        submission_key=submission_key,
    )
    if policy.is_agent(actor):
        if not fields.customer_email:
            raise ValidationFailed("Agents open tickets for a customer: give customer_email.")
        return on_behalf.open_for_customer(
            actor, email=fields.customer_email, name=fields.customer_name, consent=fields.consent, **common
        )
    if fields.customer_email or fields.customer_name or fields.consent:
        raise NotAllowed("Only agents open tickets for someone else.")
    ticket, created = submission.submit_ticket(actor, **common)
    return ticket, created, ticket.paid_credits if created else 0
