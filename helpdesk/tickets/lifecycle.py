"""Ticket lifecycle: create, reply, note, close, reopen, with history and idempotent submission."""

import hashlib
from datetime import timedelta

from sqlalchemy import bindparam, exists, func, insert, or_, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from helpdesk import events, policy
from helpdesk.accounts.models import User
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.formfields import parse_id
from helpdesk.querying import add_unless_twin, column_rows
from helpdesk.tickets import drafts, round_robin, search, sla, uploads
from helpdesk.tickets.models import (
    IN_TIME,
    OPEN_STATUSES,
    SOURCE_CREDITS,
    STATUS_CLOSED,
    STATUS_NEW,
    STATUS_OPEN,
    STATUS_RESOLVED,
    STATUS_WAITING,
    Attachment,
    Category,
    Message,
    Priority,
    Subscription,
    Ticket,
    TicketEvent,
)


def lock_row(ticket):
    """Lock the ticket's row until commit and read its fields afresh; returns the ticket.

    FOR NO KEY UPDATE (PostgreSQL): it serialises every writer of the row, yet does not wait for
    the key-share locks that inserting a message or a history entry takes on its ticket (plain FOR
    UPDATE deadlocked a reply against a close; tests/functional/test_guarantee_races.py).
    The lock is taken on the id alone and the row refreshed after: locking a SELECT that joins
    the eagerly loaded category and priority made PostgreSQL re-check the locked row after a
    concurrent update and hand back NULL for the joined side (a ticket with no category, a 500;
    tests/functional/test_concurrent_edits.py). SQLite writers are serialised by BEGIN IMMEDIATE.
    """
    db.session.execute(select(Ticket.id).where(Ticket.id == ticket.id).with_for_update(key_share=True)).one()
    db.session.refresh(ticket)
    return ticket


# Statements of every submission and reply, built once (building one costs more than running it).
ACTIVE_CATEGORIES = select(Category).where(Category.archived.is_(False)).order_by(Category.name)
SUBMISSION = select(Ticket.id).where(
    Ticket.requester_id == bindparam("requester_id"), Ticket.submission_key == bindparam("key")
)
RESENT_MESSAGE = select(Message.id).where(
    Message.author_id == bindparam("author_id"), Message.submission_key == bindparam("key")
)
INSERT_EVENT = insert(TicketEvent.__table__)


def active_categories():
    return db.session.scalars(ACTIVE_CATEGORIES).all()


def all_priorities():
    """Priorities from least to most urgent."""
    return db.session.scalars(select(Priority).order_by(Priority.sort_order)).all()


def record_event(ticket, actor, field, old, new):
    """Append one history entry; values are stored as short display strings."""
    db.session.execute(  # written now, in the caller's transaction; nobody needs the object
        INSERT_EVENT,
        {
            "ticket_id": ticket.id,
            "actor_id": actor.id if actor else None,
            "field": field,
            "old_value": None if old is None else str(old)[:400],
            "new_value": None if new is None else str(new)[:400],
            "created_at": utcnow(),
        },
    )
    events.ticket_changed.send(ticket=ticket, actor=actor, field=field, old=old, new=new)  # webhooks


def find_submission(requester, submission_key):
    """The ticket this requester already made from this form (same submission key), or None.
    Asked of every submission and almost always none: only the id is selected."""
    if not submission_key:
        return None
    ticket_id = db.session.scalar(SUBMISSION, {"requester_id": requester.id, "key": submission_key})
    return None if ticket_id is None else db.session.get(Ticket, ticket_id)


# A form sent again from a copy the browser restored (Back, then Submit or Send): the page was
# fetched anew, so its submission key is new and only the content tells it is the same.
TWIN_WINDOW = timedelta(minutes=10)  # a new ticket the same as one its requester made this long ago
REPEAT_WINDOW = timedelta(minutes=5)  # a reply the same as its author's previous one on the ticket


def _same_text(a, b):
    """Texts equal but for line endings and the spaces around them (a browser sends CRLF)."""
    return (a or "").replace("\r\n", "\n").strip() == (b or "").replace("\r\n", "\n").strip()


def recent_twin(requester, *, subject, body, category_id, submission_key=None):
    """The requester's latest ticket made within TWIN_WINDOW with the same subject, description
    and category from another form (not this submission key), or None: a form sent again from a
    restored copy, which the caller asks about before opening (and charging) a second ticket.
    None as well when this form's key already made a ticket: that one is simply given back."""
    args = {
        "requester_id": requester.id,
        "category_id": category_id,
        "subject": (subject or "").strip(),
        "since": utcnow() - TWIN_WINDOW,
    }
    for row in column_rows(_SAME_SUBJECT_LATELY, args):
        if _same_text(row.body, body):  # asked only when this form's key made none (usually: none here)
            return (
                db.session.get(Ticket, row.id) if find_submission(requester, submission_key) is None else None
            )
    return None


# The requester's tickets of the last TWIN_WINDOW with this subject and category, newest first, as
# plain columns (built once): usually none, so nothing is loaded (a Ticket loaded per recent ticket
# of the requester cost a submission 2 ms when a client sent many tickets in a row).
_SAME_SUBJECT_LATELY = (
    select(Ticket.id, Ticket.body)
    .where(
        Ticket.requester_id == bindparam("requester_id"),
        Ticket.category_id == bindparam("category_id"),
        Ticket.subject == bindparam("subject"),
        Ticket.created_at >= bindparam("since"),
    )
    .order_by(Ticket.id.desc())
    .limit(20)
)


def create_ticket(actor, *, subject, body, category_id, priority_id, files=(), submission_key=None):
    """Open a ticket for `actor`. Returns (ticket, created). Charges nothing: a customer's
    submission goes through `credits.submission.submit_ticket`, which prices and charges it.

    Guarantees: a resubmission with the same submission key returns the first ticket and
    creates nothing; the category is active and the priority exists; the response due time
    follows the priority's target; attachments pass the upload checks before anything is stored;
    `events.ticket_created` is sent once, for the new ticket; in a round-robin category the
    ticket is first given to the next eligible agent (tickets.round_robin); the form's draft, if it was kept
    as one, is deleted with it.
    """
    existing = find_submission(actor, submission_key)
    if existing is not None:
        return existing, False
    return open_new_ticket(
        actor,
        subject=subject,
        body=body,
        category_id=category_id,
        priority_id=priority_id,
        files=files,
        submission_key=submission_key,
    )


REQUESTERS_ORGANIZATION = object()  # open_new_ticket's default: the organization `actor` is in now


def open_new_ticket(
    actor,
    *,
    subject,
    body,
    category_id,
    priority_id,
    files=(),
    submission_key=None,
    opened_by=None,
    organization_id=REQUESTERS_ORGANIZATION,
    assignee=None,
    assigned_because=None,
):
    """`create_ticket` for a caller that has just looked for the submission (find_submission) and
    found none: the same guarantees; a twin committed since then is still handed back. `opened_by`:
    who opened it for `actor` (an agent taking a phone call, a subscriber's mail), named in the
    history as its creator. `organization_id`: another organization than the requester's (a
    follow-up belongs where the ticket it follows did). `assignee`: the agent it goes to (a
    follow-up's, who had the ticket it follows), if they may work it, told `assigned_because`; else
    round-robin's turn."""
    category = db.session.get(Category, category_id)
    if category is None or category.archived:
        raise ValidationFailed("Choose one of the listed categories.")
    priority = db.session.get(Priority, priority_id)
    if priority is None:
        raise ValidationFailed("Choose one of the listed priorities.")
    if not (subject or "").strip():
        raise ValidationFailed("Give the ticket a subject.")
    if not (body or "").strip():
        raise ValidationFailed("Describe the problem.")
    checked = [uploads.check_upload(name, data) for name, data in files]
    now = utcnow()
    ticket = Ticket(
        subject=subject.strip(),
        body=body,
        requester=actor,
        organization_id=(
            actor.organization_id if organization_id is REQUESTERS_ORGANIZATION else organization_id
        ),
        category=category,
        category_id=category.id,
        priority=priority,
        status=STATUS_NEW,
        created_at=now,
        updated_at=now,
        submission_key=submission_key or None,
    )
    sla.open_clocks(ticket)  # reply-by and resolve-by on the ticket's calendar
    # A concurrent twin of this submission may win the race: its ticket is handed back.
    ticket, created = add_unless_twin(ticket, lambda: find_submission(actor, submission_key))
    if not created:
        return ticket, False
    for item in checked:
        db.session.add(uploads.store(item, ticket, None, actor))
    if submission_key:
        uploads.claim_staged(actor, submission_key, ticket)
        drafts.discard(actor, submission_key)  # the draft of this form became the ticket
    record_event(ticket, opened_by or actor, "created", None, f"{category.name} / {priority.name}")
    db.session.flush()
    if assignee is not None and policy.can_be_assigned(assignee, ticket):
        ticket.assignee = assignee
        record_event(ticket, None, "assignee", None, assignee.name)
        db.session.flush()
        events.ticket_assigned.send(ticket=ticket, assignee=assignee, actor=None, reason=assigned_because)
    round_robin.assign_new_ticket(ticket, record_event)  # a round-robin category's turn, if any
    events.ticket_created.send(ticket=ticket)
    return ticket, True


def add_message(ticket, actor, body, *, internal=False, files=(), source="web", staging_key=None):
    """See _add_message. A resent form (its key, from the same author, with the same text, kind and
    ticket) returns the first message. The same key with another text comes from another copy of
    the same page (a second tab, a copy the browser kept and revalidated: conditional GET serves
    them): it is another message, kept under a key made from the form's key and its text, so that
    its own resend is recognised too."""
    return send_message(
        ticket, actor, body, internal=internal, files=files, source=source, staging_key=staging_key
    )[0]


def send_message(
    ticket, actor, body, *, internal=False, files=(), source="web", staging_key=None, repeat_guard=False
):
    """add_message, returning (message, created): created is False when the message had been sent
    already and the first one is given back. `repeat_guard` (the reply forms of the portal and
    the console): a message the same as the author's previous one on the ticket (same text and
    kind, no new files), sent from another form within REPEAT_WINDOW, is that message too: a
    form restored by Back and sent again, whose page (and key) was fetched anew."""
    key = staging_key
    if staging_key:
        existing = _sent_with(actor, staging_key)
        if existing is not None and not _same_message(existing, ticket, body, internal):
            key = _content_key(staging_key, ticket, body, internal)
            existing = _sent_with(actor, key)
        if existing is not None:
            return existing, False
    if repeat_guard and not files:
        previous = _repeated(ticket, actor, body, internal, staging_key)
        if previous is not None:
            return previous, False
    message = _add_message(
        ticket,
        actor,
        body,
        internal=internal,
        files=files,
        source=source,
        staging_key=staging_key,
        submission_key=key,
    )
    return message, True


def _repeated(ticket, actor, body, internal, staging_key):
    """The ticket's latest message of this kind (public or internal) if this author sent it within
    REPEAT_WINDOW with the same text, and this form brings no files of its own; else None. An
    answer in between (the same "Thanks" again after the agent's reply) is a new message. Read as
    plain columns: usually the latest message is someone else's, and nothing more is asked."""
    previous = column_rows(_LATEST_MESSAGE, {"ticket_id": ticket.id, "internal": bool(internal)}).first()
    if previous is None or previous.author_id != actor.id or previous.created_at < utcnow() - REPEAT_WINDOW:
        return None
    if not _same_text(previous.body, body):
        return None
    if staging_key and uploads.staged_for(actor.id, staging_key):
        return None  # new files: another message, whatever its text
    return db.session.get(Message, previous.id)


_LATEST_MESSAGE = (  # built once
    select(Message.id, Message.author_id, Message.body, Message.created_at)
    .where(Message.ticket_id == bindparam("ticket_id"), Message.internal == bindparam("internal"))
    .order_by(Message.id.desc())
    .limit(1)
)


def _sent_with(actor, key):
    """The message this author sent under this key, if any (a prebuilt statement: by id, then
    the row from the session's identity map or one primary-key read)."""
    found = db.session.scalar(RESENT_MESSAGE, {"author_id": actor.id, "key": key})
    return db.session.get(Message, found) if found is not None else None


def _same_message(message, ticket, body, internal):
    return message.ticket_id == ticket.id and message.body == body and message.internal == internal


def _content_key(key, ticket, body, internal):
    """The key of a message sent from a copy of a form whose key another message already has."""
    content = f"{key}\0{ticket.id}\0{int(bool(internal))}\0{body}".encode()
    return hashlib.sha256(content).hexdigest()  # 64 characters: Message.submission_key's size


def merged_text(ticket, then):
    """What a merged duplicate answers to a change: 'Ticket #3 was merged into #10: reply there.'"""
    return f"Ticket #{ticket.id} was merged into #{ticket.merged_into_id}: {then}."


def _add_message(ticket, actor, body, *, internal, files, source, staging_key, submission_key=None):
    """Add a public reply or an internal note, applying the status rules.

    Guarantees: the actor may reply (or note) per policy; a customer's reply reopens a ticket
    that waits on them or was resolved; an agent's first public reply sets first_response_at;
    attachments are checked before anything is written.
    """
    if internal and not policy.can_write_internal_note(actor, ticket):
        raise NotAllowed("Only agents can write internal notes.")
    if not internal and ticket.merged_into_id is not None:
        raise NotAllowed(merged_text(ticket, "reply there"))
    if not internal and not policy.can_reply(actor, ticket):
        if policy.can_close_or_reopen(actor, ticket):
            raise NotAllowed("This ticket is closed. Reopen it to reply.")
        raise NotAllowed(
            "This ticket is closed, and only its requester or their organization's manager can reopen it."
        )
    if not (body or "").strip():
        raise ValidationFailed("Write a message before sending.")
    checked = [uploads.check_upload(name, data) for name, data in files]
    first_agent_reply = not internal and actor.is_agent and ticket.first_response_at is None
    now = utcnow()
    message = Message(
        ticket=ticket,
        author=actor,
        body=body,
        internal=internal,
        source=source,
        created_at=now,
        submission_key=submission_key if submission_key is not None else staging_key,
    )
    db.session.add(message)
    for item in checked:
        db.session.add(uploads.store(item, ticket, message, actor))
    if staging_key:
        uploads.claim_staged(actor, staging_key, ticket, message)
    if not internal:
        if actor.is_agent:
            if ticket.first_response_at is None:
                ticket.first_response_at = now
            if ticket.status == STATUS_NEW:
                _set_status(ticket, actor, STATUS_OPEN)
        else:
            customer_wrote(ticket, actor)
    ticket.updated_at = now
    db.session.flush()
    events.message_posted.send(message=message, first_agent_reply=first_agent_reply)
    return message


def customer_wrote(ticket, actor):
    """A customer's public message came in (a reply, or one a merged duplicate brought): a ticket
    that waits on the customer or was resolved is open again, so it is back in the agents' "Needs
    attention" with its resolve-by clock running. True if it reopened."""
    if ticket.status not in (STATUS_WAITING, STATUS_RESOLVED):
        return False
    _set_status(ticket, actor, STATUS_OPEN)
    return True


def _set_status(ticket, actor, status):
    old = ticket.status
    if old == status:
        return
    if ticket.merged_into_id is not None and status != STATUS_CLOSED:
        # A merged duplicate stays closed: its conversation lives on in the kept ticket.
        raise ValidationFailed(merged_text(ticket, "it stays closed"))
    ticket.status = status
    now = utcnow()
    sla.status_changed(ticket, old, status, now)  # before resolved_at goes: a reopening counts from it
    if status in (STATUS_RESOLVED, STATUS_CLOSED) and ticket.resolved_at is None:
        ticket.resolved_at = now
    if status in OPEN_STATUSES:
        ticket.resolved_at = None
    ticket.updated_at = now
    ticket.version += 1
    record_event(ticket, actor, "status", old, status)
    if status in OPEN_STATUSES and old not in OPEN_STATUSES:
        _unassign_unworkable(ticket)
    db.session.flush()
    events.ticket_status_changed.send(ticket=ticket, actor=actor, old=old, new=status)


def _unassign_unworkable(ticket):
    """A ticket open again (a customer's reply, an agent's reopening) whose assignee may no longer
    work it goes back to Unassigned, by the desk ("System" in its history). A resolved or closed
    ticket keeps who worked it when they are deactivated or lose its category
    (editing.release_unworkable frees open tickets only), so without this the reopened ticket
    stayed on someone who can neither answer it nor hear of it, out of the "Unassigned" view."""
    assignee = ticket.assignee
    if assignee is None or policy.can_be_assigned(assignee, ticket):
        return
    ticket.assignee = None
    record_event(ticket, None, "assignee", assignee.name, None)


def close_merged(ticket, actor):
    """Close a ticket merged into another (tickets/merging.py has the rules and holds the lock)."""
    _set_status(ticket, actor, STATUS_CLOSED)


def close_quiet_resolved(days, commit):
    """Close every ticket resolved at least `days` days ago with no reply, note or change since
    (a customer's reply reopens a resolved ticket, so these are the ones nobody came back to).
    Each is closed under its own row lock and then `commit()`ed: safe beside the app and on
    several machines, and a run cut short keeps what it closed. Returns how many closed."""
    cutoff = utcnow() - timedelta(days=days)
    due = db.session.scalars(
        select(Ticket.id)
        .where(Ticket.status == STATUS_RESOLVED, Ticket.resolved_at <= cutoff, Ticket.updated_at <= cutoff)
        .order_by(Ticket.id)
    ).all()
    closed = 0
    for ticket_id in due:
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is not None and close_resolved_quietly(ticket, days):
            closed += 1
        commit()
    return closed


def close_resolved_quietly(ticket, days):
    """Close a ticket that has stayed resolved, untouched, for `days` days (the desk does it: no
    actor, shown as "System" in the history). Locks the row and checks again: a reply or an edit
    that came in meanwhile keeps it as it is. True if it closed."""
    lock_row(ticket)
    cutoff = utcnow() - timedelta(days=days)
    if ticket.status != STATUS_RESOLVED or ticket.updated_at > cutoff or ticket.resolved_at > cutoff:
        return False
    _set_status(ticket, None, STATUS_CLOSED)
    return True


def apply_priority(ticket, priority, actor, now):
    """Put the ticket on `priority`, with one history entry and a new version; its clocks move as
    `sla.priority_changed` says. Moves no credits: `credits.quotes` prices the change and calls
    this in the same transaction.
    """
    old = ticket.priority
    ticket.priority = priority
    sla.priority_changed(ticket, old, now)
    ticket.version += 1
    ticket.updated_at = now
    record_event(ticket, actor, "priority", old.name, priority.name)


def set_status(ticket, actor, status):
    """Change the status (agents any; customers only close and reopen through their own calls)."""
    if not policy.can_edit_ticket(actor, ticket):
        raise NotAllowed("You may not change this ticket.")
    _set_status(ticket, actor, status)
    db.session.flush()


def close_ticket(ticket, actor):
    """Close a ticket on the customer's side: the requester, their manager or an agent."""
    if not policy.can_close_or_reopen(actor, ticket):
        raise NotAllowed("You may not close this ticket.")
    if ticket.status == STATUS_CLOSED:
        return
    _set_status(ticket, actor, STATUS_CLOSED)
    db.session.flush()


def reopen_ticket(ticket, actor):
    """Reopen a resolved or closed ticket (not a merged duplicate)."""
    if ticket.merged_into_id is not None and policy.can_view_ticket(actor, ticket):
        raise ValidationFailed(merged_text(ticket, "follow that one"))
    if not policy.can_close_or_reopen(actor, ticket):
        raise NotAllowed("You may not reopen this ticket.")
    if ticket.is_open:
        return
    _set_status(ticket, actor, STATUS_OPEN)
    db.session.flush()


def reopen_and_reply(ticket, actor, body, **options):
    """A reply written while the ticket was closed, sent again with "Reopen and send": the ticket
    reopens and the reply is posted in one transaction (both or neither). Returns send_message's
    (message, created)."""
    reopen_ticket(ticket, actor)
    return send_message(ticket, actor, body, **options)


def public_messages(ticket):
    return [m for m in ticket.messages if not m.internal]


def person(relationship):
    """Join a user for display (name, e-mail, role) without their organization and permissions."""
    return joinedload(relationship).options(lazyload(User.organization), lazyload(User.category_permissions))


def _readable_by(user, ticket):
    """SQL conditions on Message: what `user` may read of `ticket`'s messages (conversation_for)."""
    conditions = [Message.ticket_id == ticket.id]
    if not policy.can_see_internal(user, ticket):
        conditions.append(Message.internal.is_(False))
        if not policy.can_see_ticket_charges(user, ticket):
            conditions.append(Message.source != SOURCE_CREDITS)
    return conditions


def description_files(ticket):
    """The files sent with the ticket's description (not those of its messages), in order."""
    return db.session.scalars(
        select(Attachment)
        .where(Attachment.ticket_id == ticket.id, Attachment.message_id.is_(None))
        .order_by(Attachment.id)
    ).all()


def conversation_for(user, ticket, latest=None):
    """(the messages `user` may read, in time order (IN_TIME: merged messages among the
    others by when they were written), how many earlier ones are left out): internal
    notes only for agents; what was paid or refunded (system messages of source "credits") only
    for those who may see the ticket's charges. With `latest` (a number), only the latest that
    many (tickets/thread_window.py), read by one statement that also counts them all: a ticket of
    a thousand mails loads the page's fifty, not every message."""
    query = (
        select(Message, func.count().over().label("total"))
        .where(*_readable_by(user, ticket))
        .options(person(Message.author), selectinload(Message.attachments))
        .order_by(*(column.desc() for column in IN_TIME))
    )
    if latest is not None:
        query = query.limit(latest)
    rows = db.session.execute(query).all()
    messages = [message for message, _total in reversed(rows)]
    return messages, (rows[0].total - len(rows) if rows else 0)


def portal_ticket_query(user, *, scope="mine", state="open", q=""):
    """Tickets for a customer's lists: scope mine/organization/following, state open/closed/all."""
    query = select(Ticket).where(policy.ticket_visibility(user))
    if scope == "following":
        query = query.where(
            exists().where(Subscription.ticket_id == Ticket.id, Subscription.user_id == user.id)
        )
    elif scope == "organization" and policy.manages_organization(user):
        query = query.where(Ticket.organization_id == user.organization_id)
    else:
        query = query.where(Ticket.requester_id == user.id)
    if state == "open":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif state == "closed":
        query = query.where(or_(Ticket.status == STATUS_RESOLVED, Ticket.status == STATUS_CLOSED))
    if q:
        condition = search.ticket_condition(q, include_internal=False)
        number = _ticket_number(q)
        if number is not None:  # "#34" or "34": the number every mail's subject shows, or words
            condition = or_(Ticket.id == number, condition)
        query = query.where(condition)
    return query.order_by(Ticket.updated_at.desc(), Ticket.id.desc())


def _ticket_number(text):
    """34 for "#34", "34" or " # 34 ", else None (an id the database can hold: formfields.parse_id)."""
    return parse_id(text.strip().removeprefix("#"))
