"""Card billing: credit packs for sale, payments through Stripe (or the demo provider), webhook events."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

PAYMENT_PENDING = "pending"
PAYMENT_PAID = "paid"
PAYMENT_FAILED = "failed"
PAYMENT_REFUNDED = "refunded"
PAYMENT_PARTIALLY_REFUNDED = "partially_refunded"
PAYMENT_EXPIRED = "expired"
PAYMENT_STATUSES = (
    PAYMENT_PENDING,
    PAYMENT_PAID,
    PAYMENT_FAILED,
    PAYMENT_REFUNDED,
    PAYMENT_PARTIALLY_REFUNDED,
    PAYMENT_EXPIRED,
)
PAYMENT_STATUS_LABELS = {
    PAYMENT_PENDING: "Pending",
    PAYMENT_PAID: "Paid",
    PAYMENT_FAILED: "Failed",
    PAYMENT_REFUNDED: "Refunded",
    PAYMENT_PARTIALLY_REFUNDED: "Partially refunded",
    PAYMENT_EXPIRED: "Cancelled",
}
PROVIDER_STRIPE = "stripe"
PROVIDER_DEMO = "demo"
KIND_PACK = "pack"  # a pack bought through Checkout (by the customer, or a phone order)
KIND_TOP_UP = "top_up"  # a pack bought off-session with a saved card when the balance fell low


class CreditPack(db.Model):
    """A bundle of credits for sale at a price in minor units (cents)."""

    __tablename__ = "credit_packs"
    __table_args__ = (
        CheckConstraint("credits > 0", name="credits_positive"),
        CheckConstraint("price > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    credits: Mapped[int]
    price: Mapped[int]  # minor units
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @property
    def label(self):
        """How a pack is offered by name: "Team: 1,200 credits" (the packs' choices, the Checkout
        product's name)."""
        return f"{self.name}: {self.credits:,} credits"

    def __repr__(self):
        return f"<CreditPack {self.name}>"


class Payment(db.Model):
    """One card purchase of a pack for a bank; credited at most once, by the webhook only."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'paid', 'failed', 'refunded', 'partially_refunded', 'expired')",
            name="status_valid",
        ),
        CheckConstraint("credits > 0 AND amount > 0", name="amounts_positive"),
        CheckConstraint("amount_refunded >= 0 AND credits_reversed >= 0", name="refunds_not_negative"),
        Index("ix_payments_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"), index=True)
    pack_id: Mapped[int] = mapped_column(ForeignKey("credit_packs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # the customer
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # an admin's phone order
    provider: Mapped[str] = mapped_column(String(20), default=PROVIDER_STRIPE)
    credits: Mapped[int]  # copied from the pack when the checkout starts
    amount: Mapped[int]  # minor units, copied from the pack
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default=PAYMENT_PENDING)
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    amount_refunded: Mapped[int] = mapped_column(default=0)
    credits_reversed: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    link_email_to: Mapped[str | None] = mapped_column(String(320))  # phone orders: whom to send the link
    link_email_status: Mapped[str | None] = mapped_column(String(20))  # "queued": the mail is in the outbox
    kind: Mapped[str] = mapped_column(String(20), default=KIND_PACK)
    # Top-ups: the worker's lease on the next attempt, attempts made, and why the card was refused.
    claimed_until = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    failure_code: Mapped[str | None] = mapped_column(String(50))
    credited_at = mapped_column(UTCDateTime)
    refunded_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    account = relationship("CreditAccount", lazy="joined")
    pack = relationship("CreditPack", lazy="joined")
    user = relationship("User", foreign_keys=[user_id], lazy="joined")
    started_by = relationship("User", foreign_keys=[started_by_id])

    @property
    def status_label(self):
        return PAYMENT_STATUS_LABELS.get(self.status, self.status)

    @property
    def ledger_ref(self):
        """What its ledger entries are keyed and referenced by: the Checkout session, or for a top-up
        its key (`top-up:<bank>:<the ledger entry that crossed the threshold>`)."""
        return self.stripe_session_id or self.idempotency_key

    @property
    def is_top_up(self):
        return self.kind == KIND_TOP_UP


class PaymentRefund(db.Model):
    """Money a payment gave back, as each refund was reported: Stripe reports a charge's refunds as
    a running total, so each row is what that total rose by, and when. The revenue report books a
    refund in the month it was made: a second refund in January never moves December's first."""

    __tablename__ = "payment_refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[int]  # minor units, in the payment's currency
    refunded_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)


class StripeEvent(db.Model):
    """A webhook event as received (raw, for audit); its unique id makes processing at-most-once."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    received_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    processed_at = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(200), default="")


class BillingAlert(db.Model):
    """Something about money that an admin must look at (e.g. a refund that put a bank in debt)."""

    __tablename__ = "billing_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(String(500))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("credit_accounts.id"))
    # The Stripe object it is about while no payment matches it (a payment intent): resolved by
    # itself when that payment turns up.
    reference: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    resolved_at = mapped_column(UTCDateTime, index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    payment = relationship("Payment")


class CardCharge(db.Model):
    """What Stripe reported about the charge of one payment intent (refunds, disputes), kept even
    before we know which payment it belongs to: events arrive in any order."""

    __tablename__ = "card_charges"
    __table_args__ = (CheckConstraint("amount_refunded >= 0", name="refunded_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(String(255), unique=True)
    charge_id: Mapped[str | None] = mapped_column(String(255))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_refunded: Mapped[int] = mapped_column(default=0)  # the highest cumulative refund reported
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    disputes = relationship("CardDispute", order_by="CardDispute.id", lazy="selectin")


class CardDispute(db.Model):
    """A card dispute (chargeback): its amount, and when the funds left and came back."""

    __tablename__ = "card_disputes"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[str] = mapped_column(String(255), unique=True)
    card_charge_id: Mapped[int] = mapped_column(ForeignKey("card_charges.id"), index=True)
    amount: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="")
    reason: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(50), default="")  # Stripe's: needs_response, won, lost...
    funds_withdrawn_at = mapped_column(UTCDateTime)
    funds_reinstated_at = mapped_column(UTCDateTime)
    closed_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @property
    def withheld(self):
        """The amount the dispute holds back now: withdrawn and not (yet) reinstated."""
        return self.amount if self.funds_withdrawn_at and not self.funds_reinstated_at else 0


SUB_PENDING = "pending"  # the subscription checkout was started, not completed
SUB_ACTIVE = "active"
SUB_PAST_DUE = "past_due"  # a renewal failed; Stripe retries the card
SUB_CANCELED = "canceled"  # Stripe ended it; the bank keeps the plan until `ends_at`
SUB_ENDED = "ended"  # the bank has moved to the fallback plan
SUB_EXPIRED = "expired"  # the checkout was abandoned
SUB_STATUSES = (SUB_PENDING, SUB_ACTIVE, SUB_PAST_DUE, SUB_CANCELED, SUB_ENDED, SUB_EXPIRED)
SUB_LIVE = (SUB_ACTIVE, SUB_PAST_DUE)  # a bank has at most one of these
SUB_STATUS_LABELS = {
    SUB_PENDING: "Waiting for the card payment",
    SUB_ACTIVE: "Active",
    SUB_PAST_DUE: "Renewal failed",
    SUB_CANCELED: "Cancelled",
    SUB_ENDED: "Ended",
    SUB_EXPIRED: "Not started",
}


class PlanPrice(db.Model):
    """How a service plan is sold as a monthly card subscription: its Stripe price, and the plan a
    bank falls back to when the subscription ends (None: the default plan)."""

    __tablename__ = "plan_prices"

    plan_id: Mapped[int] = mapped_column(ForeignKey("service_plans.id", ondelete="CASCADE"), primary_key=True)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255))
    fallback_plan_id: Mapped[int | None] = mapped_column(ForeignKey("service_plans.id", ondelete="SET NULL"))

    plan = relationship("ServicePlan", foreign_keys=[plan_id], lazy="joined")
    fallback_plan = relationship("ServicePlan", foreign_keys=[fallback_plan_id], lazy="joined")


class PlanSubscription(db.Model):
    """A bank's monthly card subscription to a plan: each paid invoice grants the plan's allowance."""

    __tablename__ = "plan_subscriptions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'active', 'past_due', 'canceled', 'ended', 'expired')", name="status_valid"
        ),
        Index("ix_plan_subscriptions_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("service_plans.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # who subscribed
    provider: Mapped[str] = mapped_column(String(20), default=PROVIDER_STRIPE)
    status: Mapped[str] = mapped_column(String(20), default=SUB_PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)  # also its Stripe metadata ref
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    paid_until = mapped_column(UTCDateTime)  # end of the latest period a paid invoice covers
    ends_at = mapped_column(UTCDateTime)  # cancelled: when the bank falls back to another plan
    ended_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    account = relationship("CreditAccount", lazy="joined")
    plan = relationship("ServicePlan", lazy="joined")
    user = relationship("User", lazy="joined")

    @property
    def status_label(self):
        return SUB_STATUS_LABELS.get(self.status, self.status)


class SubscriptionInvoice(db.Model):
    """One Stripe invoice of a subscription, kept even before we know its subscription; its
    allowance is granted at most once (`granted_at`, and the ledger key per invoice)."""

    __tablename__ = "subscription_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), index=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("plan_subscriptions.id"), index=True)
    billing_reason: Mapped[str] = mapped_column(String(50), default="")
    amount_paid: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="")
    period_start = mapped_column(UTCDateTime)
    period_end = mapped_column(UTCDateTime)
    paid_at = mapped_column(UTCDateTime)
    failed_at = mapped_column(UTCDateTime)  # the latest failed attempt
    failure_notified_at = mapped_column(UTCDateTime)  # the customer and admins were told (once)
    granted_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class AutoTopUp(db.Model):
    """A bank's automatic top-up: when its balance falls under `threshold`, buy `pack` off-session
    with the saved card (one per bank; set up by the customer or the organization's manager)."""

    __tablename__ = "auto_top_ups"
    __table_args__ = (CheckConstraint("threshold >= 0", name="threshold_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # who set it up: mails go there
    pack_id: Mapped[int] = mapped_column(ForeignKey("credit_packs.id"), index=True)
    threshold: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    provider: Mapped[str] = mapped_column(String(20), default=PROVIDER_STRIPE)
    setup_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # the latest card setup
    setup_key: Mapped[str | None] = mapped_column(String(200))  # its idempotency key and metadata reference
    setup_url: Mapped[str | None] = mapped_column(Text)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    card_saved_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    account = relationship("CreditAccount", lazy="joined")
    pack = relationship("CreditPack", lazy="joined")
    user = relationship("User", lazy="joined")

    @property
    def has_card(self):
        return bool(self.payment_method_id and self.stripe_customer_id)
