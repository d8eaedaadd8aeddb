"""Service plans, credit accounts (banks) and the append-only credit ledger."""

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

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
    self_service: Mapped[bool] = mapped_column(default=False)  # may be picked at registration
    is_default: Mapped[bool] = mapped_column(default=False)

    priorities = relationship(
        "Priority", secondary=plan_priorities, order_by="Priority.sort_order", lazy="selectin"
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
