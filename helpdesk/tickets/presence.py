"""Who else is on a ticket's page, and what changed there since an agent loaded it.

Guarantees:
- presence is one row per ticket and agent (tickets.models.TicketPresence), written by a
  heartbeat (an upsert, the same on SQLite and PostgreSQL) and present for presence_ttl() after it;
  an expired row is never shown and is deleted by the next heartbeat of anyone. The rows live in
  the database, so every app server sees the same agents;
- an agent is "writing" for WRITING_TTL after their reply draft was last saved (reply_drafts);
- only active agents who may see the ticket now are ever listed (policy.agents_who_may_view): a
  technician who lost the category disappears with their next look, whatever their row says;
- the change notice names what others did after the page was loaded: messages that reached the
  ticket after the newest one the page had (by Message.sequence: those a merge moved in count
  too, though their ids are older), and a version newer than the page's (the optimistic-concurrency
  version every edit bumps, the one the page's inline edits carry); the agent's own changes are
  never announced to them.
"""

import functools
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, func, select, update

from helpdesk import policy
from helpdesk.accounts.models import User
from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.formfields import MAX_ID
from helpdesk.querying import upsert_insert
from helpdesk.tickets.models import Message, Ticket, TicketEvent, TicketPresence

MERGED_IN = "merge"  # Message.source of a duplicate's description merged in (tickets/merging.py)

HEARTBEAT_SECONDS = 10  # the page's polling interval, the default of PRESENCE_HEARTBEAT_SECONDS


def heartbeat_seconds():
    """How often the ticket page sends its heartbeat (setting PRESENCE_HEARTBEAT_SECONDS)."""
    return current_app.config.get("PRESENCE_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS)


def presence_ttl():
    """How long an agent stays present after a heartbeat: two lost heartbeats are forgiven."""
    return timedelta(seconds=3 * heartbeat_seconds())


WRITING_TTL = timedelta(seconds=20)


def upsert(model, keys, values, keep=()):
    """INSERT the row `keys` + `values`, or UPDATE `values` (but not the columns in `keep`) of the
    row with those keys: one statement on SQLite and PostgreSQL (ON CONFLICT DO UPDATE)."""
    dialect = db.session.connection().dialect.name
    statement = _upsert_statement(dialect, model, tuple(keys), tuple(values), tuple(keep))
    db.session.execute(statement, {f"v_{name}": value for name, value in (*keys.items(), *values.items())})


@functools.cache
def _upsert_statement(dialect, model, key_names, value_names, keep):
    """upsert's statement for this shape, built once (building it cost more than running it):
    each value is the bind parameter v_<column>."""
    columns = model.__table__.c
    statement = upsert_insert(dialect)(model).values(
        {name: bindparam(f"v_{name}", type_=columns[name].type) for name in (*key_names, *value_names)}
    )
    changed = {name: statement.excluded[name] for name in value_names if name not in keep}
    return statement.on_conflict_do_update(index_elements=list(key_names), set_=changed)


EXPIRED = delete(TicketPresence).where(TicketPresence.expires_at <= bindparam("now", type_=UTCDateTime))


def heartbeat(agent, ticket, *, writing=False, now=None):
    """Record that `agent` is on `ticket`'s page (writing a reply if `writing`) for presence_ttl(),
    and delete every expired presence. The caller has checked the policy (404 otherwise)."""
    now = now or utcnow()
    db.session.execute(EXPIRED, {"now": now})
    values = {"seen_at": now, "expires_at": now + presence_ttl(), "writing_until": None}
    if writing:
        values["writing_until"] = now + WRITING_TTL
    upsert(
        TicketPresence,
        {"ticket_id": ticket.id, "user_id": agent.id},
        values,
        keep=() if writing else ("writing_until",),
    )


def stop_writing(agent, ticket_id):
    """The agent is no longer writing on this ticket (their reply went, or the box was emptied)."""
    db.session.execute(
        update(TicketPresence)
        .where(TicketPresence.ticket_id == ticket_id, TicketPresence.user_id == agent.id)
        .values(writing_until=None)
    )


@dataclass(frozen=True)
class Present:
    name: str
    writing: bool


OTHERS_HERE = (
    select(User.name, TicketPresence.writing_until)
    .join(User, User.id == TicketPresence.user_id)
    .where(
        TicketPresence.ticket_id == bindparam("ticket_id"),
        TicketPresence.user_id != bindparam("viewer_id"),
        TicketPresence.expires_at > bindparam("now", type_=UTCDateTime),
        policy.agents_who_may_view_category(bindparam("category_id")),
    )
    .order_by(User.name, User.id)
)


def others_here(agent, ticket, now=None):
    """The other agents on the ticket's page now (who may see it), by name: [Present]."""
    now = now or utcnow()
    params = {"ticket_id": ticket.id, "viewer_id": agent.id, "now": now, "category_id": ticket.category_id}
    rows = db.session.execute(OTHERS_HERE, params)
    return [Present(row.name, row.writing_until is not None and row.writing_until > now) for row in rows]


@dataclass(frozen=True)
class Seen:
    """What a ticket page showed when it was rendered: the ticket's version, its newest message's
    sequence (the form field seen_message)."""

    version: int
    sequence: int

    @property
    def token(self):
        return f"{self.version}.{self.sequence}"

    @classmethod
    def parse(cls, token):
        """The Seen a page sent back, or None for anything malformed: each part ASCII digits
        within the INTEGER columns' range (a message id past it overflowed SQLite's integers, and
        a digit such as "²" passed isdigit() but not int(): both answered 500)."""
        version, _, message = (token or "").partition(".")
        parts = (version, message)
        if len(token) > 40 or not all(p.isascii() and p.isdigit() and int(p) <= MAX_ID for p in parts):
            return None
        return cls(int(version), int(message))


def seen_on_page(ticket):
    """The Seen of a ticket page built from this TicketView (with_conversation): the ticket's
    highest message sequence, not the last message shown (merged messages are shown by their
    time, and a window of the latest may leave out the newest)."""
    return Seen(ticket.version, ticket.newest_sequence)


NEWER_MESSAGES = (
    select(Message.id, Message.internal, Message.created_at, Message.source, User.name)
    .outerjoin(User, User.id == Message.author_id)
    .where(
        Message.ticket_id == bindparam("ticket_id"),
        Message.sequence > bindparam("after"),
        func.coalesce(Message.author_id, 0) != bindparam("viewer_id"),
    )
    # Named after the newest written (highest id): a reply after a merge, else the merge's
    # description of the duplicate (written by the merge; the messages it moved are older).
    .order_by(Message.id.desc())
)
LATEST_EVENT = (
    select(TicketEvent.actor_id, TicketEvent.created_at, User.name)
    .outerjoin(User, User.id == TicketEvent.actor_id)
    .where(TicketEvent.ticket_id == bindparam("ticket_id"))
    .order_by(TicketEvent.id.desc())
    .limit(1)
)
LATEST_MERGE = (
    select(TicketEvent.actor_id, TicketEvent.new_value, TicketEvent.created_at, User.name)
    .outerjoin(User, User.id == TicketEvent.actor_id)
    .where(TicketEvent.ticket_id == bindparam("ticket_id"), TicketEvent.field == "merged")
    .order_by(TicketEvent.id.desc())
    .limit(1)
)
CURRENT_VERSION = select(Ticket.version).where(Ticket.id == bindparam("ticket_id"))


def _merged_in(agent, ticket_id, latest):
    """The notice of a duplicate merged into the ticket (its description, now the ticket's newest
    message, keeps its requester and the time the duplicate was opened: announced as theirs, it
    read "Alice replied 3 days ago"): who merged which ticket, and when; None for the agent's own.
    No count: the text is the merge's ("#3 (2 message(s))" is in the history)."""
    event = db.session.execute(LATEST_MERGE, {"ticket_id": ticket_id}).first()
    if event is None:
        return {"text": "A ticket was merged into this one", "at": latest.created_at}
    if event.actor_id == agent.id:
        return None  # the agent's own merge (it led them to this page)
    which = (event.new_value or "").split(" ", 1)[0] or "A ticket"
    return {
        "text": f"{event.name or 'Someone'} merged {which} into this ticket",
        "at": event.created_at,
    }


def change_notice(agent, ticket_id, seen):
    """What others changed on the ticket since the page showed `seen`, as
    {"text": ..., "at": datetime or None}, or None if nothing (or only the agent) changed it."""
    if seen is None:
        return None
    params = {"ticket_id": ticket_id, "after": seen.sequence, "viewer_id": agent.id}
    newer = db.session.execute(NEWER_MESSAGES, params).all()
    if newer:
        latest = newer[0]
        more = f" ({len(newer)} new messages)" if len(newer) > 1 else ""
        if latest.source == MERGED_IN:
            return _merged_in(agent, ticket_id, latest)
        if latest.name is None:  # no author: the desk's own (a merge's link, a refund), never a reply
            return {"text": f"A system message was posted{more}", "at": latest.created_at}
        what = "added an internal note" if latest.internal else "replied"
        return {"text": f"{latest.name} {what}{more}", "at": latest.created_at}
    version = db.session.scalar(CURRENT_VERSION, {"ticket_id": ticket_id})
    if version is None or version <= seen.version:
        return None
    event = db.session.execute(LATEST_EVENT, {"ticket_id": ticket_id}).first()
    if event is not None and event.actor_id == agent.id:
        return None  # the agent's own edit (their page shows it already)
    if event is not None and event.name:
        return {"text": f"{event.name} changed the ticket", "at": event.created_at}
    return {"text": "The ticket changed", "at": None}
