"""Service plans, credit accounts (banks), the append-only credit ledger, alerts and agent time entries."""

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

BILLING_PRIORITY = "priority"  # pay per ticket priority
BILLING_TIME = "time"  # pay per minute of agent time logged

KIND_SIGNUP = "signup_grant"
KIND_ALLOWANCE = "allowance"
KIND_PURCHASE = "purchase"
KIND_CHARGE = "charge"
KIND_REFUND = "refund"
KIND_ADJUSTMENT = "adjustment"
KIND_REVERSAL = "reversal"
LEDGER_KINDS = (
    KIND_SIGNUP,
    KIND_ALLOWANCE,
    KIND_PURCHASE,
    KIND_CHARGE,
    KIND_REFUND,
    KIND_ADJUSTMENT,
    KIND_REVERSAL,
)

KIND_LABELS = {
    KIND_SIGNUP: "Sign-up grant",
    KIND_ALLOWANCE: "Allowance",
    KIND_PURCHASE: "Purchase",
    KIND_CHARGE: "Charge",
    KIND_REFUND: "Refund",
    KIND_ADJUSTMENT: "Adjustment",
    KIND_REVERSAL: "Reversal",
}

plan_priorities = Table(
    "plan_priorities",
    db.metadata,
    Column("plan_id", ForeignKey("service_plans.id", ondelete="CASCADE"), primary_key=True),
    Column("priority_id", ForeignKey("priorities.id", ondelete="CASCADE"), primary_key=True),
)


class ServicePlan(db.Model):
    """A membership level: which priorities a customer may pick and how credits flow."""

    __tablename__ = "service_plans"
    __table_args__ = (
        CheckConstraint("billing_mode IN ('priority', 'time')", name="billing_mode_valid"),
        CheckConstraint("overdraft_floor <= 0", name="floor_not_positive"),
        CheckConstraint("minute_rate > 0", name="minute_rate_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    credits_enabled: Mapped[bool] = mapped_column(default=False)
    signup_grant: Mapped[int] = mapped_column(default=0)
    monthly_allowance: Mapped[int] = mapped_column(default=0)
    rollover_cap: Mapped[int | None] = mapped_column()  # None: unlimited rollover
    billing_mode: Mapped[str] = mapped_column(String(20), default=BILLING_PRIORITY)
    minute_rate: Mapped[int] = mapped_column(default=1)  # credits per minute in time mode
    overdraft_floor: Mapped[int] = mapped_column(default=0)
    guarantee: Mapped[bool] = mapped_column(default=False)  # refund if the response target is missed
    self_service: Mapped[bool] = mapped_column(default=False)  # customers pick it themselves
    is_default: Mapped[bool] = mapped_column(default=False)

    priorities = relationship(
        "Priority", secondary=plan_priorities, order_by="Priority.sort_order", lazy="selectin"
    )
    thresholds = relationship(
        "LowBalanceThreshold",
        order_by="LowBalanceThreshold.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    def __repr__(self):
        return f"<ServicePlan {self.name}>"


class CreditAccount(db.Model):
    """A bank of credits, owned by one customer or shared by one organization."""

    __tablename__ = "credit_accounts"
    __table_args__ = (CheckConstraint("(user_id IS NULL) <> (organization_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("service_plans.id"), index=True)
    # Stored balance, changed only with a ledger entry in the same transaction, under a row lock.
    balance: Mapped[int] = mapped_column(default=0)
    # The last credit top-up (signup grant, allowance, purchase, positive adjustment): thresholds use it.
    last_topup: Mapped[int] = mapped_column(default=0)
    # How many low-balance thresholds the balance is at or below since the last re-arm (0 = none).
    low_stage: Mapped[int] = mapped_column(default=0)
    # The monthly allowance comes with each paid subscription invoice (billing), not from the
    # monthly run (`flask credits allowance`), which skips the bank.
    allowance_invoiced: Mapped[bool] = mapped_column(default=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    plan = relationship("ServicePlan", lazy="joined")
    user = relationship("User", lazy="joined")
    organization = relationship("Organization", lazy="joined")

    @property
    def owner_name(self):
        return self.organization.name if self.organization_id else self.user.name


class LedgerEntry(db.Model):
    """One append-only movement of credits. Never updated or deleted; corrections are new entries."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('signup_grant', 'allowance', 'purchase', 'charge', 'refund', 'adjustment', 'reversal')",
            name="kind_valid",
        ),
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"))
    amount: Mapped[int]  # signed: credits in are positive, out are negative
    kind: Mapped[str] = mapped_column(String(20))
    balance_after: Mapped[int]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    payment_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    period: Mapped[str | None] = mapped_column(String(7))  # "YYYY-MM" for allowances
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    memo: Mapped[str] = mapped_column(String(500), default="")
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    account = relationship("CreditAccount")
    actor = relationship("User", lazy="joined")
    ticket = relationship("Ticket")

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]


THRESHOLD_TOPUP_PERCENT = "topup_percent"  # value % of the last top-up
THRESHOLD_CHEAPEST_PAID = "cheapest_paid"  # the cost of the cheapest paid priority of the plan
THRESHOLD_FIXED = "fixed"  # value credits
THRESHOLD_BASES = (THRESHOLD_TOPUP_PERCENT, THRESHOLD_CHEAPEST_PAID, THRESHOLD_FIXED)


class LowBalanceThreshold(db.Model):
    """One stage of a plan's low-balance warning; stages are crossed in order of position."""

    __tablename__ = "low_balance_thresholds"
    __table_args__ = (
        CheckConstraint("basis IN ('topup_percent', 'cheapest_paid', 'fixed')", name="basis_valid"),
        UniqueConstraint("plan_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("service_plans.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=1)
    basis: Mapped[str] = mapped_column(String(20))
    value: Mapped[int] = mapped_column(default=0)


ALERT_LOW_BALANCE = "low_balance"
ALERT_UNBILLED_TIME = "unbilled_time"
ALERT_SLA_REFUND = "sla_refund"
ALERT_KINDS = (ALERT_LOW_BALANCE, ALERT_UNBILLED_TIME, ALERT_SLA_REFUND)


class CreditAlert(db.Model):
    """Something about a bank that people must hear of; its mail is queued when the row is written."""

    __tablename__ = "credit_alerts"
    __table_args__ = (
        CheckConstraint("kind IN ('low_balance', 'unbilled_time', 'sla_refund')", name="kind_valid"),
        Index("ix_credit_alerts_account_open", "account_id", "acknowledged"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"))
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(default=0)  # low balance: the stage crossed (1 = first)
    threshold: Mapped[int] = mapped_column(default=0)  # the threshold's value in credits when crossed
    balance: Mapped[int] = mapped_column(default=0)  # the balance right after the crossing
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    text: Mapped[str] = mapped_column(String(500), default="")
    acknowledged: Mapped[bool] = mapped_column(default=False)
    notified_at = mapped_column(UTCDateTime)  # when its mail was queued (in the alert's own transaction)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    account = relationship("CreditAccount", lazy="joined")


class CreditSettingChange(db.Model):
    """Audit trail of plan, tariff, member cap and credit pack edits: who changed which field from
    what to what."""

    __tablename__ = "credit_setting_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject: Mapped[str] = mapped_column(String(20))  # "plan", "tariff", "member_cap" or "pack"
    subject_id: Mapped[int] = mapped_column()
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(String(400))
    new_value: Mapped[str | None] = mapped_column(String(400))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    actor = relationship("User", lazy="joined")


class TimeEntry(db.Model):
    """Minutes an agent worked on a ticket; `billed` is what the bank was charged for it, net."""

    __tablename__ = "time_entries"
    __table_args__ = (
        CheckConstraint("minutes IS NULL OR minutes >= 0", name="minutes_not_negative"),
        # A unique index, not a constraint: SQLite adds an index in place, a constraint only by
        # copying the table (migration 0045). Timers have no key (NULLs never clash).
        Index("uq_time_entries_agent_submission_key", "agent_id", "submission_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("credit_accounts.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    minutes: Mapped[int | None] = mapped_column()  # None while the timer runs
    note: Mapped[str] = mapped_column(String(500), default="")
    started_at = mapped_column(UTCDateTime)  # set for timer entries
    billed: Mapped[int] = mapped_column(default=0)  # credits charged for this entry, net of corrections
    # Credits a minute it is priced at, fixed when it is logged or its timer stopped: the rate of the
    # plan that paid for it then (account_id), 0 when that plan did not bill time; None while its
    # timer runs. Corrections are charged and refunded at this rate, whatever the plan is later.
    minute_rate: Mapped[int | None] = mapped_column()
    unbilled: Mapped[bool] = mapped_column(default=False)  # the bank could not cover (part of) it
    revision: Mapped[int] = mapped_column(default=0)  # bumped by every edit; keys its ledger corrections
    deleted_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # From the "Log time" form that made it (its key and what it logged): a resent form adds nothing.
    submission_key: Mapped[str | None] = mapped_column(String(64))

    ticket = relationship("Ticket")
    agent = relationship("User", lazy="joined")
    revisions = relationship("TimeEntryRevision", order_by="TimeEntryRevision.id", back_populates="entry")

    @property
    def running(self):
        return self.minutes is None and self.deleted_at is None


class TimeEntryRevision(db.Model):
    """Audit trail: who created, changed or deleted a time entry, from what to what."""

    __tablename__ = "time_entry_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("time_entries.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))  # created, edited, deleted, stopped
    old_minutes: Mapped[int | None] = mapped_column()
    new_minutes: Mapped[int | None] = mapped_column()
    old_note: Mapped[str | None] = mapped_column(String(500))
    new_note: Mapped[str | None] = mapped_column(String(500))
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    entry = relationship("TimeEntry", back_populates="revisions")
    actor = relationship("User", lazy="joined")


REQUEST_SHORT = "short"  # the shared bank cannot cover what the member wants
REQUEST_CAP = "cap"  # it can, but the member's monthly cap is reached
REQUEST_REASONS = (REQUEST_SHORT, REQUEST_CAP)


class CreditRequest(db.Model):
    """A member's "Ask a manager for credits": the amount, what for, and why they could not pay."""

    __tablename__ = "credit_requests"
    __table_args__ = (
        CheckConstraint("reason IN ('short', 'cap')", name="reason_valid"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_credit_requests_requester_created", "requester_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int]  # credits short of the price, or over the cap
    subject: Mapped[str] = mapped_column(String(200), default="")  # the ticket being written
    priority_id: Mapped[int | None] = mapped_column(ForeignKey("priorities.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    account = relationship("CreditAccount", lazy="joined")
    requester = relationship("User", lazy="joined")
    priority = relationship("Priority", lazy="joined")


class MemberCap(db.Model):
    """The most a member may spend from their organization's shared bank in a calendar month (UTC),
    set by a manager; changes are recorded as CreditSettingChange rows (subject "member_cap")."""

    __tablename__ = "member_caps"
    __table_args__ = (
        UniqueConstraint("account_id", "user_id"),
        CheckConstraint("monthly_cap >= 0", name="cap_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("credit_accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    monthly_cap: Mapped[int]
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
