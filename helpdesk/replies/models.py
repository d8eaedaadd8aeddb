"""Saved replies: text an agent inserts into a reply, shared in a category or kept for oneself."""

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

TITLE_MAX = 120
BODY_MAX = 10_000


class SavedReply(db.Model):
    """Shared with a category's technicians (`category_id`) or personal (`owner_id`): exactly one.

    `use_count` and `last_used_at` say which are used, so the unused ones can be pruned."""

    __tablename__ = "saved_replies"
    __table_args__ = (
        db.CheckConstraint("(category_id IS NULL) <> (owner_id IS NULL)", name="shared_or_personal"),
        Index("ix_saved_replies_category", "category_id"),
        Index("ix_saved_replies_owner", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    use_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_used_at = mapped_column(UTCDateTime, nullable=True)

    category = relationship("Category", lazy="joined")

    @property
    def shared(self):
        return self.category_id is not None
