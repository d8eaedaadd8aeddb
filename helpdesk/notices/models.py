"""In-app notices: what a user should look at (a paid ticket at risk, ...), read or unread."""

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

KIND_AT_RISK = "at_risk"
KIND_CREDIT_REQUEST = "credit_request"  # a member asks the managers for credits
KIND_USAGE_SUMMARY = "usage_summary"  # last month's spending per member, for managers
KINDS = (KIND_AT_RISK, KIND_CREDIT_REQUEST, KIND_USAGE_SUMMARY)


class Notice(db.Model):
    """One notice for one user, about one ticket (or none)."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_user_read", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    read_at = mapped_column(UTCDateTime)
    link: Mapped[str | None] = mapped_column(String(500))  # where it leads (a path), if not to its ticket

    ticket = relationship("Ticket")
