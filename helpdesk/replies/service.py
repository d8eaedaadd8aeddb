"""Saved replies: keep them (who may is policy's), find the ones usable on a ticket, fill their
placeholders, and count their use.

Placeholders are filled by plain substitution of known names (`{customer_name}`...): the text is
never run as a template, so a reply cannot reach anything but these values. An unknown
`{name}` stays as it was typed.
"""

import re

from sqlalchemy import bindparam, func, or_, select, update

from helpdesk import policy, staleness
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotFound, StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import column_rows, escape_like, lock_row
from helpdesk.replies.models import BODY_MAX, TITLE_MAX, SavedReply
from helpdesk.tickets.models import Category

PLACEHOLDERS = {
    "customer_name": "the customer's name",
    "customer_first_name": "the customer's first name",
    "customer_email": "the customer's e-mail address",
    "ticket_id": "the ticket's number",
    "ticket_subject": "the ticket's subject",
    "category": "the ticket's category",
    "agent_name": "your name",
    "agent_first_name": "your first name",
}
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_ANY_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_ ]{0,40})\}")  # what looks like one
SHARE_REFUSED = "You may share replies only in the categories you work in."
PICKER_LIMIT = 200  # the no-JavaScript select lists the most used ones first, up to this many


class ReplyRefused(ValidationFailed):
    """A rule refused what was typed for a saved reply; `problems` maps each field it is about
    (title, body or scope) to its reason, so the form shows each under its field."""

    def __init__(self, problems):
        super().__init__(" ".join(problems.values()))
        self.problems = dict(problems)


def _first(name):
    return (name or "").split()[0] if (name or "").split() else ""


def values_for(ticket, agent):
    """The placeholders' values on `ticket` (the ticket page's TicketView or a Ticket) for `agent`."""
    requester = ticket.requester
    category = ticket.category
    customer_name = getattr(requester, "name", "") or ""
    return {
        "customer_name": customer_name,
        "customer_first_name": _first(customer_name),
        "customer_email": getattr(requester, "email", "") or "",
        "ticket_id": str(ticket.id),
        "ticket_subject": ticket.subject or "",
        "category": category if isinstance(category, str) else getattr(category, "name", "") or "",
        "agent_name": agent.name or "",
        "agent_first_name": _first(agent.name),
    }


def fill(text, values):
    """`text` with each known placeholder replaced by its value (plain substitution)."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _clean(title, body):
    title = (title or "").strip()
    body = (body or "").strip()
    problems = {}
    if not title:
        problems["title"] = "Give the saved reply a title."
    elif len(title) > TITLE_MAX:
        problems["title"] = f"The title may be up to {TITLE_MAX} characters."
    if not body:
        problems["body"] = "Write the text to insert."
    elif len(body) > BODY_MAX:
        problems["body"] = f"The text may be up to {BODY_MAX:,} characters."
    else:
        unknown = sorted({m.group(1) for m in _ANY_PLACEHOLDER.finditer(body)} - set(PLACEHOLDERS))
        if unknown:  # it would be inserted as typed: "Hi {foo}" in a mail to the customer
            names = ", ".join("{" + name + "}" for name in unknown)
            known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            problems["body"] = f"Unknown placeholder {names}: use one of {known}."
    if problems:
        raise ReplyRefused(problems)
    return title, body


def _scope(actor, category_id):
    """(category_id, owner_id) for a reply shared in `category_id`, or personal when it is None."""
    if category_id is None:
        return None, actor.id
    if not policy.can_share_saved_reply(actor, category_id):
        raise ReplyRefused({"scope": SHARE_REFUSED})
    return category_id, None


def _check_title_free(title, category_id, owner_id, reply_id=None):
    """Two replies of one picker may not share a title (case ignored): they would look the same."""
    where = (
        SavedReply.category_id == category_id if category_id is not None else SavedReply.owner_id == owner_id
    )
    taken = db.session.scalar(
        select(SavedReply.id).where(
            where, func.lower(SavedReply.title) == title.lower(), SavedReply.id != (reply_id or 0)
        )
    )
    if taken:
        place = "in this category" if category_id is not None else "among your personal replies"
        raise ReplyRefused(
            {"title": f"A saved reply called “{title}” already exists {place}: choose another title."}
        )


def create(actor, title, body, category_id=None):
    title, body = _clean(title, body)
    category_id, owner_id = _scope(actor, category_id)
    _check_title_free(title, category_id, owner_id)
    reply = SavedReply(
        title=title, body=body, category_id=category_id, owner_id=owner_id, created_by_id=actor.id
    )
    db.session.add(reply)
    db.session.flush()
    return reply


class ReplyStale(StaleUpdate):
    """The saved reply was changed after the form was opened: nothing was saved. `reply` is as
    stored now."""

    def __init__(self, reply):
        self.reply = reply
        super().__init__("This saved reply was changed after you opened the form: nothing was saved.")


def version_of(reply):
    """What the edit form carries of the reply it shows: its last change's time (a use, which only
    counts, keeps it)."""
    return staleness.time_version(reply.updated_at)


def update_reply(actor, reply, title, body, category_id=None, seen=None):
    """Change a reply's title, text and who may use it. `seen`: version_of the reply the form
    showed (ReplyStale, nothing saved, when it changed since: a shared reply is kept by every
    technician of its category; None: not checked). The row is locked until commit."""
    if not policy.can_keep_saved_reply(actor, reply):
        raise NotFound("No such saved reply.")
    lock_row(reply)
    if seen is not None and seen != version_of(reply):
        raise ReplyStale(reply)
    title, body = _clean(title, body)
    if category_id is not None and category_id == reply.category_id:
        scope = (category_id, None)  # stays shared where it is (an archived category's too)
    else:
        scope = _scope(actor, category_id)
    _check_title_free(title, *scope, reply_id=reply.id)
    reply.category_id, reply.owner_id = scope
    reply.title, reply.body = title, body
    db.session.flush()
    return reply


def delete(actor, reply):
    if not policy.can_keep_saved_reply(actor, reply):
        raise NotFound("No such saved reply.")
    db.session.delete(reply)
    db.session.flush()


def get_for(actor, reply_id):
    """The saved reply `reply_id` if `actor` may use it, else None."""
    return db.session.scalar(
        select(SavedReply).where(SavedReply.id == reply_id, policy.saved_replies_condition(actor))
    )


def record_use(reply_id):
    """Count one use, in the database (two agents inserting at once both count)."""
    db.session.execute(
        update(SavedReply)
        .where(SavedReply.id == reply_id)
        # updated_at as it was: a use is no change of the reply (an edit form stays current)
        .values(use_count=SavedReply.use_count + 1, last_used_at=utcnow(), updated_at=SavedReply.updated_at)
    )


def _matching(q):
    """Replies whose title or text contains `q` (taken literally)."""
    pattern = f"%{escape_like(q)}%"
    return or_(SavedReply.title.ilike(pattern, escape="\\"), SavedReply.body.ilike(pattern, escape="\\"))


def listing(actor, *, q="", scope="all", sort="title"):
    """A SELECT of the saved replies `actor` may see, for the management list."""
    query = select(SavedReply).where(policy.saved_replies_condition(actor))
    if scope == "mine":
        query = query.where(SavedReply.owner_id == actor.id)
    elif scope == "shared":
        query = query.where(SavedReply.category_id.is_not(None))
    if q:
        query = query.where(_matching(q))
    order = {
        "title": [func.lower(SavedReply.title)],
        "least_used": [SavedReply.use_count, SavedReply.last_used_at.asc().nulls_first()],
        "most_used": [SavedReply.use_count.desc()],
    }[sort]
    return query.order_by(*order, SavedReply.id)


_ACTOR_ID = bindparam("actor_id")
_CATEGORY_ID = bindparam("category_id")
_CHOICES = {}  # (agent, admin) -> the statement of reply_choices
_MOST_USED_FIRST = (SavedReply.use_count.desc(), func.lower(SavedReply.title), SavedReply.id)


def _usable(actor, actor_id, category_id):
    """The replies `actor` (whose id `actor_id` may be a bind parameter) may insert on a ticket of
    `category_id`: their own, and those shared in that category."""
    return (
        policy.saved_replies_condition(actor, user_id=actor_id),
        or_(SavedReply.owner_id == actor_id, SavedReply.category_id == category_id),
    )


def reply_choices(actor, ticket):
    """(id, title, shared category's name or None) of the replies usable on `ticket`, as
    usable_on orders them: the reply form's select, on every ticket page, so the statement is
    built once per kind of user and the rows are plain (no reply objects, no category loads)."""
    kind = (policy.is_agent(actor), policy.is_admin(actor))
    statement = _CHOICES.get(kind)
    if statement is None:
        statement = _CHOICES[kind] = (
            select(SavedReply.id, SavedReply.title, Category.name)
            .outerjoin(Category, Category.id == SavedReply.category_id)
            .where(*_usable(actor, _ACTOR_ID, _CATEGORY_ID))
            .order_by(*_MOST_USED_FIRST)
            .limit(PICKER_LIMIT)
        )
    found = column_rows(statement, {"actor_id": actor.id, "category_id": ticket.category_id})
    return [tuple(row) for row in found]


def usable_on(actor, ticket, *, q="", limit=PICKER_LIMIT):
    """The saved replies `actor` may insert on `ticket`: their own, and those shared in the
    ticket's category; the most used first."""
    query = select(SavedReply).where(*_usable(actor, actor.id, ticket.category_id))
    if q:
        query = query.where(_matching(q))
    query = query.order_by(*_MOST_USED_FIRST)
    return list(db.session.scalars(query.limit(limit)))
