"""Mail over MAIL_MAX_MESSAGE_BYTES: refused unread, and its sender told, once an hour at most.

A help desk that drops a 30 MB attachment in silence leaves the customer waiting for an answer
that never comes. So the sender gets one short automatic reply (kind "message_too_large"): their
message "<subject>" of N MB was not received, the limit is M MB, and how to send the files instead
(smaller messages or links, or the portal: the ticket's page when the message answers a ticket
they may see, else the new-ticket page). Only inbound.py decides whether the sender may be told
(their header proves them, and nothing says not to answer); this module writes the notice and
keeps it to one per address and hour.

Whether the sender was told is in the log entry's `reason`, which starts with TOLD when they were:
that prefix is what the hourly count reads (no column holds it), and only our text comes before it.
"""

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from helpdesk import policy
from helpdesk.extensions import db
from helpdesk.mail.compose import lock_address, queue
from helpdesk.mail.models import INBOUND_REFUSED, OUTBOX_SUPPRESSED, InboundMail
from helpdesk.mail.notify import ticket_url
from helpdesk.mail.refusal import Refusal
from helpdesk.web import public_url

KIND = "message_too_large"
TOLD = "sender told by an automatic reply"
MB = 1024 * 1024  # as the upload hints count (config.MAX_ATTACHMENT_BYTES // (1024 * 1024) MB)


class TooLarge(Refusal):
    """A message over MAIL_MAX_MESSAGE_BYTES, with its header (parse.parse_head) and size."""

    def __init__(self, head, size, limit):
        super().__init__(
            INBOUND_REFUSED, f"message of {size:,} bytes is over MAIL_MAX_MESSAGE_BYTES ({limit:,})"
        )
        self.head, self.size, self.limit = head, size, limit

    def told(self):
        """The log's reason when the sender was told."""
        return f"{TOLD}; {self.reason}"

    def not_told(self, why):
        """The log's reason when the sender was not told, and why not."""
        return f"{self.reason}; sender not told: {why}"


def no_reply_sender(addr):
    """Whether `addr` says it reads no answers (noreply@, no-reply@, do_not_reply@, ...): whatever
    sent from it is not answered (parse.py's machine-mail markers catch bounces and lists)."""
    local = (addr or "").partition("@")[0].lower().replace("-", "").replace("_", "").replace(".", "")
    return local.startswith(("noreply", "donotreply"))


def megabytes(size, up):
    """Bytes as MB with at most one decimal ("30", "25.1"): rounded `up` for a message (never shown
    as at the limit when it is over it), down for the limit."""
    tenths = math.ceil(size * 10 / MB) if up else size * 10 // MB
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths / 10:.1f}"


def told_recently(addr, now):
    """Whether a message from `addr` over the limit got its notice in the hour before `now`."""
    return db.session.scalar(
        select(func.count(InboundMail.id)).where(
            InboundMail.from_addr == addr[:320],
            InboundMail.received_at >= now - timedelta(hours=1),
            InboundMail.outcome == INBOUND_REFUSED,
            InboundMail.reason.startswith(f"{TOLD};", autoescape=True),
        )
    )


def tell(refusal, now, *, sender=None, ticket=None, thread=True):
    """Queue the notice of `refusal` (TooLarge) to its sender and return the log's reason.

    The caller has decided the sender may be told; `sender` is their account (or None), `ticket`
    the ticket the message answered. The link goes to that ticket when the sender may see it
    (threaded with its mail unless not `thread`), else to the portal's new-ticket page. No notice
    when one went to this address in the last hour (counted under compose.lock_address, so two
    messages at once cannot both pass), nor beyond MAIL_AUTO_PER_HOUR (the outbox keeps it as
    "suppressed"). The notice is written in the caller's transaction, with the log entry."""
    head = refusal.head
    lock_address(head.from_addr)
    if told_recently(head.from_addr, now):
        return refusal.not_told("a notice went to this address less than an hour ago")
    if ticket is not None and not (sender is not None and policy.can_view_ticket(sender, ticket)):
        ticket = None
    cfg = current_app.config
    limit = megabytes(refusal.limit, up=False)
    subject = head.subject or "your message"
    row = queue(
        KIND,
        to_addr=head.from_addr,
        to_name=sender.name if sender is not None else head.from_name,
        user_id=sender.id if sender is not None else None,
        template=KIND,
        subject=f"Not received (over {limit} MB): {subject}",
        ticket=ticket if thread else None,
        automatic=True,
        recipient=sender,
        their_subject=head.subject,
        size=megabytes(refusal.size, up=True),
        limit=limit,
        file_limit=megabytes(cfg["MAX_ATTACHMENT_BYTES"], up=False),
        ticket_number=ticket.id if ticket is not None else None,
        url=ticket_url(ticket, sender) if ticket is not None else public_url("tickets_portal.new_ticket"),
    )
    if row.status == OUTBOX_SUPPRESSED:
        return refusal.not_told(row.last_error)
    return refusal.told()
