"""In-app notices: what a user should look at (a paid ticket at risk, ...), read or unread."""

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

KIND_AT_RISK = "at_risk"
KIND_CREDIT_REQUEST = "credit_request"  # a member asks the managers for credits
KIND_USAGE_SUMMARY = "usage_summary"  # last month's spending per member, for managers
KIND_ASSIGNED = "assigned"  # an agent was given a ticket by someone else (or by round-robin)
KIND_CUSTOMER_REPLIED = "customer_replied"  # a customer replied on a ticket assigned to the agent
KIND_MENTIONED = "mentioned"  # an agent was @mentioned in an internal note
KINDS = (
    KIND_AT_RISK,
    KIND_CREDIT_REQUEST,
    KIND_USAGE_SUMMARY,
    KIND_ASSIGNED,
    KIND_CUSTOMER_REPLIED,
    KIND_MENTIONED,
)
# The agents' everyday kinds, in the order the preferences page lists them, with whether a mail is
# also sent when the agent has not chosen: the two that mailed before preferences existed keep
# mailing, the new ones start in-app only (nobody gets more mail after the upgrade than before).
AGENT_KINDS = {
    KIND_ASSIGNED: ("Assigned to you", False),
    KIND_CUSTOMER_REPLIED: ("A customer replied on a ticket assigned to you", True),
    KIND_MENTIONED: ("Mentioned in an internal note", False),
    KIND_AT_RISK: ("A paid ticket you work on is at risk", True),
}


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


class NoticePreference(db.Model):
    """Whether a user also gets a mail for one kind of notice (in-app notices always come). No
    row: the kind's default (AGENT_KINDS)."""

    __tablename__ = "notice_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    mail: Mapped[bool] = mapped_column(server_default=text("false"))
