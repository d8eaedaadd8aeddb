"""Ticket drafts: a new-ticket form kept on the server while its author buys credits, switches plan
or asks a manager for credits, and given back to them afterwards.

Guarantees:
- one draft per author and form (its submission key): saving again updates it; the form's files
  stay staged under the same key, so the restored form still carries them, and submitting it is
  still the same submission (charged once);
- a draft is its author's alone (anyone else's id is "no draft") and lives DRAFT_LIFETIME (a day)
  from its last save; an expired draft is never given back, and is deleted, with its staged
  files once they are UPLOAD_STAGED_MAX_HOURS old, by the next save of any draft (a form left
  open longer still carries its key: the files it sent since are a new attempt's);
- submitting the ticket empties its draft, in the ticket's transaction (lifecycle.create_ticket):
  it is never given back again, but its link, until the draft would have expired, says which
  ticket it became (submitted_as) rather than that it expired.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, select, update

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.querying import add_unless_twin, is_row_id
from helpdesk.tickets import uploads
from helpdesk.tickets.models import Category, Priority, Ticket, TicketDraft

DRAFT_LIFETIME = timedelta(days=1)


def _valid_id(model, value, *, active_category=False):
    """`value` if it names an existing row (an active category), else None: a draft keeps what it can."""
    item = db.session.get(model, value) if is_row_id(value) else None
    if item is None or (active_category and item.archived):
        return None
    return item.id


def save_draft(author, *, submission_key, subject="", body="", category_id=None, priority_id=None):
    """Keep the form as it is (nothing is required but its key) for DRAFT_LIFETIME. Returns the draft."""
    purge_expired()
    now = utcnow()
    values = dict(
        subject=(subject or "").strip()[:200],
        body=body or "",
        category_id=_valid_id(Category, category_id, active_category=True),
        priority_id=_valid_id(Priority, priority_id),
        updated_at=now,
        expires_at=now + DRAFT_LIFETIME,
    )
    draft = _draft_of(author, submission_key)
    if draft is None:
        # A double click on "Buy credits" (two app servers, PostgreSQL) sends two copies at once:
        # the one whose insert the unique key refuses updates the other's row instead of a 500.
        draft, _ = add_unless_twin(
            TicketDraft(user_id=author.id, submission_key=submission_key, created_at=now, **values),
            lambda: _draft_of(author, submission_key),
        )
    for name, value in values.items():
        setattr(draft, name, value)
    db.session.flush()
    return draft


def _draft_of(author, submission_key):
    return db.session.scalar(
        select(TicketDraft).where(
            TicketDraft.user_id == author.id, TicketDraft.submission_key == submission_key
        )
    )


def _own_unexpired(author, draft_id):
    """The author's draft row while it lasts (submitted or not), else None (whoever else's it is)."""
    draft = db.session.get(TicketDraft, draft_id) if is_row_id(draft_id) else None
    if draft is None or author is None or draft.user_id != getattr(author, "id", None):
        return None
    return draft if draft.expires_at > utcnow() else None


SUBMITTED = select(Ticket.id).where(
    Ticket.requester_id == bindparam("user_id"), Ticket.submission_key == bindparam("key")
)


def _ticket_of(draft):
    return db.session.scalar(SUBMITTED, {"user_id": draft.user_id, "key": draft.submission_key})


def get_draft(author, draft_id):
    """The author's draft if it exists, has not expired and was not submitted, else None."""
    draft = _own_unexpired(author, draft_id)
    return draft if draft is not None and _ticket_of(draft) is None else None


def submitted_as(author, draft_id):
    """The id of the ticket the author's draft was submitted as (while the draft would have
    lasted), else None."""
    draft = _own_unexpired(author, draft_id)
    return _ticket_of(draft) if draft is not None else None


def staged_files(draft):
    """The files kept with the draft (staged under its key)."""
    return uploads.staged_for(draft.user_id, draft.submission_key)


# Every submission asks (built once: building it costs more than running it).
EMPTY = (
    update(TicketDraft.__table__)
    .where(
        TicketDraft.__table__.c.user_id == bindparam("author_id"),
        TicketDraft.__table__.c.submission_key == bindparam("key"),
    )
    .values(subject="", body="")
)


def discard(author, submission_key):
    """The author's draft of this form, if any, was submitted as a ticket: its text goes (the
    ticket has it); the row stays until it expires so that its link can name the ticket."""
    if submission_key:
        db.session.execute(EMPTY, {"author_id": author.id, "key": submission_key})


def purge_expired():
    """Delete expired drafts and the files staged with them (those old enough to be abandoned).
    Returns how many drafts went."""
    now = utcnow()
    expired = db.session.execute(
        select(TicketDraft.id, TicketDraft.user_id, TicketDraft.submission_key).where(
            TicketDraft.expires_at <= now
        )
    ).all()
    # Only the files as old as `flask uploads clean` deems abandoned: a form left open past its
    # draft still carries the key, and the files it sent since are a new attempt's (the form
    # lists them as kept, a new draft keeps them, the ticket takes them).
    abandoned = now - timedelta(hours=current_app.config["UPLOAD_STAGED_MAX_HOURS"])
    for _id, user_id, key in expired:
        uploads.discard_all_staged(user_id, key, staged_before=abandoned)
    if expired:
        db.session.execute(delete(TicketDraft).where(TicketDraft.id.in_([row[0] for row in expired])))
    return len(expired)
