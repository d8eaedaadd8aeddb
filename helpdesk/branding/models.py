"""The desk's branding: one settings row (id 1) with the name, the accent colour and the logo."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

SETTINGS_ID = 1  # the only row; no row at all means the defaults ("Help desk", the stock logo and colours)


class DeskSettings(db.Model):
    """What the desk calls itself and how it looks. `changed_at` is the version of all of it: the
    pages' stylesheet link, the stylesheet's and the logo's ETags and the pages' ETags follow it."""

    __tablename__ = "desk_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(80))
    accent: Mapped[str | None] = mapped_column(String(7))  # "#rrggbb", lower case
    logo_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    logo = relationship("Attachment")
    changed_by = relationship("User")
