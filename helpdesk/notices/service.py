"""Notices: written in the transaction of their cause, listed newest first, marked read by their user.

Guarantees: a notice about a ticket goes only to active users allowed to see it (policy): agents
for a paid ticket at risk; a member's request for credits goes to the organization's active
managers, with a link to where they act on it; a user only ever reads or marks their own notices.
"""

from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import bindparam, delete, func, select, update

from helpdesk import events, policy
from helpdesk.accounts import permissions
from helpdesk.accounts.models import User
from helpdesk.credits.models import REQUEST_CAP
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.notices.models import KIND_AT_RISK, KIND_CREDIT_REQUEST, Notice
from helpdesk.tickets.models import Ticket

TARGET_WORDS = {"response": "first reply", "resolution": "resolution"}


def notify(users, kind, text, ticket=None, link=None):
    """One notice per distinct active user who may see `ticket`; returns the notices. `link`: a
    path the notice leads to instead of its ticket (see link_path)."""
    seen, made = set(), []
    for user in users:
        if user is None or user.id in seen or not user.active:
            continue
        if ticket is not None and not policy.can_view_ticket(user, ticket):
            continue
        seen.add(user.id)
        notice = Notice(
            user_id=user.id, kind=kind, ticket_id=ticket.id if ticket else None, text=text[:500], link=link
        )
        db.session.add(notice)
        made.append(notice)
    db.session.flush()
    for notice in made:
        events.notice_created.send(notice=notice)  # the mail domain mails what the user asked for
    return made


def ticket_agents(ticket):
    """Who works a ticket: its assignee, else the technicians of its category."""
    if ticket.assignee is not None:
        return [ticket.assignee]
    return permissions.category_agents(ticket.category_id)


def on_sla_at_risk(ticket, target):
    due = ticket.due_at if target == "response" else ticket.resolution_due_at
    text = (
        f"Paid ticket #{ticket.id} “{ticket.subject}” ({ticket.priority.name}) is at risk: its "
        f"{TARGET_WORDS[target]} is due {due:%Y-%m-%d %H:%M} UTC."
    )
    return notify(ticket_agents(ticket), KIND_AT_RISK, text, ticket)


def unread_count_query():
    """The unread notices of the user in the bind parameter `notices_user_id`."""
    return select(func.count(Notice.id)).where(
        Notice.user_id == bindparam("notices_user_id"), Notice.read_at.is_(None)
    )


def unread_count(user):
    return db.session.scalar(unread_count_query(), {"notices_user_id": user.id})


def notices_query(user):
    """The user's notices, unread first, newest first."""
    return (
        select(Notice)
        .where(Notice.user_id == user.id)
        .order_by(Notice.read_at.is_not(None), Notice.id.desc())
    )


def unread_only(query):
    """The notices of `query` not read yet."""
    return query.where(Notice.read_at.is_(None))


def mark_read(user, notice_ids=None):
    """Mark the user's notices read (all when `notice_ids` is None). Returns how many changed."""
    condition = [Notice.user_id == user.id, Notice.read_at.is_(None)]
    if notice_ids is not None:
        condition.append(Notice.id.in_(notice_ids))
    result = db.session.execute(update(Notice).where(*condition).values(read_at=utcnow()))
    return result.rowcount


def link_path(endpoint, values):
    """A path inside the app for `endpoint` (with `_anchor`), built with or without a request."""
    values = dict(values)
    anchor = values.pop("_anchor", None)
    adapter = current_app.url_map.bind(
        "localhost", script_name=urlsplit(current_app.config["PUBLIC_URL"]).path or "/"
    )
    return adapter.build(endpoint, values) + (f"#{anchor}" if anchor else "")


def on_credit_requested(request, managers, link):
    """Each manager hears of a member's request, with the page where they act on it."""
    what = f" for “{request.subject}”" if request.subject else ""
    if request.priority is not None:
        what += f" ({request.priority.name})"
    if request.reason == REQUEST_CAP:
        why = "their monthly limit is reached"
        text = f"{request.requester.name} asks for {request.amount:,} more credits this month{what}: {why}."
    else:
        why = f"{request.account.owner_name}'s shared bank is short"
        text = f"{request.requester.name} asks for {request.amount:,} credits{what}: {why}."
    return notify(managers, KIND_CREDIT_REQUEST, text, link=link_path(*link))


def _forget(rows):
    """Delete the notices among `rows` ((notice id, user, ticket)) whose user may not see the ticket."""
    gone = [notice_id for notice_id, user, ticket in rows if not policy.can_view_ticket(user, ticket)]
    if gone:
        db.session.execute(delete(Notice).where(Notice.id.in_(gone)))
    return len(gone)


def on_agent_access_reduced(user, actor):
    """An agent deactivated or who lost a category: their notices about tickets they may no longer
    see go. A notice quotes its ticket's subject and links to it; the list and the top bar's count
    went on showing them ("Ada Admin assigned #1 “VPN drops” to you."), the link answering 404.
    Deleted when access is lost (rare), so the count every page shows stays one indexed count."""
    rows = db.session.execute(
        select(Notice.id, Ticket).join(Ticket, Ticket.id == Notice.ticket_id).where(Notice.user_id == user.id)
    ).all()
    _forget([(notice_id, user, ticket) for notice_id, ticket in rows])


def on_ticket_changed(ticket, actor, field, old, new):
    """A ticket moved to another category: the notices about it of those who may no longer see it
    go (on_agent_access_reduced says why)."""
    if field != "category":
        return
    rows = db.session.execute(
        select(Notice.id, User).join(User, User.id == Notice.user_id).where(Notice.ticket_id == ticket.id)
    ).all()
    _forget([(notice_id, user, ticket) for notice_id, user in rows])
