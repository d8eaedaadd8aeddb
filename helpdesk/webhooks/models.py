"""Outbound webhooks: endpoints admins register, one delivery per event and endpoint, each attempt."""

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

# The events an endpoint may choose, with the label the admin page shows (in this order).
EVENT_TYPES = {
    "ticket.created": "Ticket created",
    "ticket.updated": "Ticket updated (status, priority, category, assignee, tags, merge)",
    "message.created": "Message created (a reply; internal notes only if chosen below)",
    "priority.paid": "Priority paid (credits charged for a ticket's priority)",
    "guarantee.refunded": "Guarantee refunded (a missed target gave credits back)",
    "balance.low": "Low balance (a bank crossed a low-balance stage)",
    "payment.succeeded": "Payment succeeded (a card payment was credited)",
    "payment.refunded": "Payment refunded (Stripe reported a refund)",
}

DELIVERY_QUEUED = "queued"
DELIVERY_DELIVERED = "delivered"
DELIVERY_FAILED = "failed"  # every attempt failed; "Redeliver" queues it again
DELIVERY_STATUSES = (DELIVERY_QUEUED, DELIVERY_DELIVERED, DELIVERY_FAILED)


class WebhookEndpoint(db.Model):
    """A URL that receives the chosen events, signed with its own secret.

    `failing_since` is the time of the first failed attempt since the last success (None while
    deliveries succeed): an endpoint whose attempts all failed for WEBHOOK_DISABLE_AFTER_HOURS is
    disabled by the worker, with `disabled_reason`.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        # One "New endpoint" form adds one endpoint (webhooks.endpoints.create_endpoint).
        Index("uq_webhook_endpoints_creator_submission_key", "created_by_id", "submission_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)
    internal_notes: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    failing_since = mapped_column(UTCDateTime)
    secret_rotated_at = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # A digest of the adding form's submission key and of what it added (None: added without one).
    submission_key: Mapped[str | None] = mapped_column(String(64))

    created_by = relationship("User")

    @property
    def event_labels(self):
        return [EVENT_TYPES[name] for name in EVENT_TYPES if name in (self.events or ())]


class WebhookDelivery(db.Model):
    """One event to one endpoint: written in the transaction of the event's cause, sent by the worker.

    The body is fixed when the row is written (what was true when it happened) and sent unchanged
    on every attempt, redeliveries included, with the same event id; only the signature's
    timestamp is new on each attempt.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        CheckConstraint("status IN ('queued', 'delivered', 'failed')", name="status_valid"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=DELIVERY_QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)  # since it was (re)queued
    next_attempt_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    delivered_at = mapped_column(UTCDateTime)

    endpoint = relationship("WebhookEndpoint")


class WebhookAttempt(db.Model):
    """One HTTP attempt of a delivery: when, the answer's status code or the error, how long."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    started_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    duration_ms: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(500))
    ok: Mapped[bool] = mapped_column(Boolean, default=False)

    delivery = relationship("WebhookDelivery", lazy="joined")
