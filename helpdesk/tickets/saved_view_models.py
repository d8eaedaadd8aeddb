"""An agent's saved views: a named queue filter and sort (the queue's query string), their own."""

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

NAME_MAX = 60
QUERY_MAX = 2000


class SavedView(db.Model):
    """One agent's view: `query` is the queue's query string (paging left out), read back through
    the queue's own argument parsing, so a view shows and counts what the queue would."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    query: Mapped[str] = mapped_column(String(QUERY_MAX), default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
