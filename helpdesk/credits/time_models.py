"""Agent time logged on tickets (time-mode plans) and the audit trail of its corrections."""

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db


class TimeEntry(db.Model):
    """Minutes an agent worked on a ticket; `billed` is what the bank was charged for it, net."""

    __tablename__ = "time_entries"
    __table_args__ = (CheckConstraint("minutes IS NULL OR minutes >= 0", name="minutes_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("credit_accounts.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    minutes: Mapped[int | None] = mapped_column()  # None while the timer runs
    note: Mapped[str] = mapped_column(String(500), default="")
    started_at = mapped_column(UTCDateTime)  # set for timer entries
    billed: Mapped[int] = mapped_column(default=0)  # credits charged for this entry, net of corrections
    unbilled: Mapped[bool] = mapped_column(default=False)  # the bank could not cover (part of) it
    revision: Mapped[int] = mapped_column(default=0)  # bumped by every edit; keys its ledger corrections
    deleted_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

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
