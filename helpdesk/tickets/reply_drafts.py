"""Agents' reply drafts: the reply box and the internal note box of a ticket page (`kind`, REPLY
or NOTE), each saved on the server while the agent types.

(Not tickets/drafts.py, which keeps customers' new-ticket forms while they buy credits.)

Guarantees:
- one draft per agent, ticket and box (tickets.models.ReplyDraft), written by an upsert; saving
  an empty box deletes it; a draft is its author's alone: nothing reads another agent's;
- a draft lives REPLY_DRAFT_LIFETIME after its last save; an expired draft is never given back,
  and the next save of any draft deletes it;
- sending a box deletes that box's draft in the same transaction (editing.reply), and a save
  arriving after its form was sent (the last keystrokes' request overtaken by the send) is
  ignored: the form's submission key already names a sent message.
"""

from datetime import timedelta

from sqlalchemy import bindparam, delete, select

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.querying import column_rows
from helpdesk.tickets import presence
from helpdesk.tickets.models import Message, ReplyDraft
from helpdesk.tickets.presence import upsert

REPLY_DRAFT_LIFETIME = timedelta(days=7)
REPLY, NOTE = "reply", "note"  # the boxes: the public reply's, the internal note's
MAX_BODY = 50_000  # the reply box's maxlength

SENT_WITH_KEY = select(Message.id).where(
    Message.author_id == bindparam("user_id"), Message.submission_key == bindparam("key")
)
DRAFT_BODIES = select(ReplyDraft.kind, ReplyDraft.body).where(
    ReplyDraft.ticket_id == bindparam("ticket_id"),
    ReplyDraft.user_id == bindparam("user_id"),
    ReplyDraft.expires_at > bindparam("now"),
)


def draft_bodies(author, ticket_id, now=None):
    """{kind: body} of the author's unexpired drafts on this ticket (both boxes in one query)."""
    params = {"ticket_id": ticket_id, "user_id": author.id, "now": now or utcnow()}
    return dict(column_rows(DRAFT_BODIES, params).all())


def save(author, ticket_id, body, submission_key="", now=None, kind=REPLY):
    """Keep `body` as the author's draft in this box (`kind`) of this ticket (an empty one deletes
    it). Returns False when nothing was saved because the form it comes from was already sent."""
    now = now or utcnow()
    key = (submission_key or "")[:64]
    if key and db.session.scalar(SENT_WITH_KEY, {"user_id": author.id, "key": key}) is not None:
        return False
    db.session.execute(delete(ReplyDraft).where(ReplyDraft.expires_at <= now))
    if not (body or "").strip():
        discard(author, ticket_id, kind)
        return True
    values = {
        "body": body[:MAX_BODY],
        "submission_key": key,
        "updated_at": now,
        "expires_at": now + REPLY_DRAFT_LIFETIME,
    }
    upsert(ReplyDraft, {"ticket_id": ticket_id, "user_id": author.id, "kind": kind}, values)
    return True


def discard(author, ticket_id, kind=REPLY):
    """Delete the author's draft in this box of this ticket, if any (sent, or emptied); for the
    reply box, they are no longer writing a reply there either (presence)."""
    db.session.execute(
        delete(ReplyDraft).where(
            ReplyDraft.ticket_id == ticket_id, ReplyDraft.user_id == author.id, ReplyDraft.kind == kind
        )
    )
    if kind == REPLY:
        presence.stop_writing(author, ticket_id)


def save_while_writing(author, ticket, body, submission_key="", kind=REPLY):
    """save(), and mark the author on the ticket's page as writing a reply (presence) while the
    reply box holds text (a note is for agents: nobody waits on it). Returns what save() returns."""
    saved = save(author, ticket.id, body, submission_key, kind=kind)
    if kind == REPLY:
        presence.heartbeat(author, ticket, writing=bool(saved and (body or "").strip()))
    return saved
