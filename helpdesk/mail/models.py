"""E-mail: the outbox of notifications to deliver and the log of mail received."""

from sqlalchemy import JSON, Boolean, ForeignKey, Index, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

OUTBOX_QUEUED = "queued"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"
OUTBOX_DEVBOX = "devbox"  # kept for the development mailbox page instead of being sent
OUTBOX_SUPPRESSED = "suppressed"  # an automatic mail over MAIL_AUTO_PER_HOUR: kept, never sent
OUTBOX_STATUSES = (OUTBOX_QUEUED, OUTBOX_SENT, OUTBOX_FAILED, OUTBOX_DEVBOX, OUTBOX_SUPPRESSED)

INBOUND_REPLY = "reply"  # added to a ticket
INBOUND_NEW_TICKET = "new_ticket"
INBOUND_DUPLICATE = "duplicate"  # same Message-ID already processed
INBOUND_IGNORED = "ignored"  # automatic mail (bounce, list, auto-reply), our own mail
INBOUND_REJECTED = "rejected"  # forged token, another recipient's token, sender may not reply
INBOUND_UNVERIFIED = "unverified"  # sender not proven: held until an admin accepts or discards it
INBOUND_DISCARDED = "discarded"  # held, then discarded by an admin
INBOUND_RATE_LIMITED = "rate_limited"
INBOUND_REFUSED = "refused"  # too large, unreadable
INBOUND_FAILED = "failed"  # an unexpected error; the raw message is kept
INBOUND_OUTCOMES = (
    INBOUND_REPLY,
    INBOUND_NEW_TICKET,
    INBOUND_DUPLICATE,
    INBOUND_IGNORED,
    INBOUND_REJECTED,
    INBOUND_UNVERIFIED,
    INBOUND_DISCARDED,
    INBOUND_RATE_LIMITED,
    INBOUND_REFUSED,
    INBOUND_FAILED,
)


class OutboxMessage(db.Model):
    """One e-mail to one recipient, written in the transaction of the event that caused it.

    The Message-ID is fixed when the row is written, so a retry after a crash between sending
    and marking repeats the same message (receivers de-duplicate on it) instead of a new one; so
    are the bodies, once composed.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        db.CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'devbox', 'suppressed')", name="status_valid"
        ),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))  # the event: ticket_created, public_reply, ...
    status: Mapped[str] = mapped_column(String(20), default=OUTBOX_QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    to_addr: Mapped[str] = mapped_column(String(320), index=True)
    to_name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    # What the mail says, stored by the request: the template and its context (the event's values,
    # the ids of the rows it shows). The worker writes the bodies and headers from them before the
    # first attempt (compose.compose); None until then.
    template: Mapped[str | None] = mapped_column(String(60))
    context: Mapped[dict | None] = mapped_column(JSON)
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    # Sent by itself because mail came in (acknowledgement, "you now follow"): counted per address
    # and hour against MAIL_AUTO_PER_HOUR.
    automatic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at = mapped_column(UTCDateTime)

    ticket = relationship("Ticket")


class InboundMail(db.Model):
    """One message received (piped or polled) and what became of it.

    The raw message is kept whenever it did not become ticket content, so nothing is lost. A
    message whose sender is not proven is kept as "unverified" until an admin accepts it (it is
    then posted as if verified, once) or discards it; `reviewed_by`/`reviewed_at` say who and when.
    """

    __tablename__ = "inbound_mail"
    __table_args__ = (
        Index("ix_inbound_mail_sender_at", "from_addr", "received_at"),
        Index("ix_inbound_mail_outcome_id", "outcome", "id"),  # the admin's "Unverified" list
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    from_addr: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    size: Mapped[int] = mapped_column(default=0)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    auth_result: Mapped[str | None] = mapped_column(String(500))  # what the trusted MTA said
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at = mapped_column(UTCDateTime)

    ticket = relationship("Ticket")
    reviewed_by = relationship("User")
