"""A follow-up of a closed ticket: what its requester, their organization's manager or a
subscriber writes after it closed (an answer to its mail: mail/inbound.py) opens a new ticket
that carries the conversation on, instead of being lost. Who may is `policy.can_follow_up`.

Guarantees: the follow-up has the closed ticket's requester and organization, the category and
priority the caller gives (charging nothing: the caller picks a free priority), the subject
"Re: <subject>" (one "Re:", however often a ticket is followed up) and the author's text and
attachments as its description. It goes to the agent who had the closed ticket, when they may
still work its category and are not away (else it is assigned as a new ticket is). The author follows it when they are not its requester, and so
does whoever followed the closed ticket. Each ticket names the other, as a merge does: a system
message that customers see and a history entry on both. The closed ticket stays closed. Called
with the closed ticket's row locked (lifecycle.lock_row).
"""

import re

from helpdesk.accounts import availability
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import Message, Subscription

REPLY_PREFIX = re.compile(r"^re\s*:", re.IGNORECASE)
SUBJECT_MAX = 200  # Ticket.subject's size


def follow_up_subject(subject):
    """'Re: <subject>', or the subject as it is when it starts with 'Re:' already."""
    subject = (subject or "").strip() or "(no subject)"
    return (subject if REPLY_PREFIX.match(subject) else f"Re: {subject}")[:SUBJECT_MAX]


def open_follow_up(closed, author, *, body, category_id, priority_id, files=()):
    """Open the follow-up of `closed`, written by `author` (see the module's guarantees); returns it."""
    requester = closed.requester
    previous = closed.assignee
    if previous is not None and availability.availability(previous).away:
        previous = None  # away: the follow-up waits in Unassigned (or takes round-robin's turn)
    ticket, _created = lifecycle.open_new_ticket(
        requester,
        subject=follow_up_subject(closed.subject),
        body=body,
        category_id=category_id,
        priority_id=priority_id,
        files=files,
        opened_by=author,
        organization_id=closed.organization_id,
        assignee=previous,
        assigned_because=f"you had #{closed.id}, which it follows up",
    )
    following = {requester.id}
    for user_id in [s.user_id for s in closed.subscriptions] + [author.id]:
        if user_id not in following:
            following.add(user_id)
            db.session.add(Subscription(ticket_id=ticket.id, user_id=user_id, added_by_id=author.id))
    now = utcnow()
    db.session.add_all(
        [
            Message(
                ticket=closed,
                author=None,
                body=(
                    f"{author.name} wrote after this ticket was closed, which opened follow-up ticket"
                    f" #{ticket.id} ({ticket.subject}): the conversation continues there."
                ),
                internal=False,
                source="system",
                created_at=now,
            ),
            Message(
                ticket=ticket,
                author=None,
                body=f"This is a follow-up of ticket #{closed.id} ({closed.subject}), which was closed.",
                internal=False,
                source="system",
                created_at=now,
            ),
        ]
    )
    lifecycle.record_event(closed, author, "followed up in", None, f"#{ticket.id}")
    lifecycle.record_event(ticket, author, "follow-up of", None, f"#{closed.id}")
    closed.updated_at = now
    db.session.flush()
    return ticket
