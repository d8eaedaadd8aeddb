"""Administrative history: who changed a user's role, access or category permissions, and when."""

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

AUDIT_ROLE = "role"
AUDIT_ACTIVE = "active"
AUDIT_PERMISSION = "permission"
AUDIT_CATEGORY = "category"
AUDIT_ORGANIZATION = "organization"  # created or renamed (old/new names)
AUDIT_ORG_MEMBER = "org_member"  # joined, moved or left (old/new organization names)
AUDIT_ORG_MANAGER = "org_manager"  # manager flag set or cleared


class AuditEvent(db.Model):
    """One administrative change, kept forever (users are deactivated, never deleted)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_target_user_created", "target_user_id", "created_at"),
        Index("ix_audit_events_actor_created", "actor_id", "created_at"),
        Index("ix_audit_events_category_created", "category_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    kind: Mapped[str] = mapped_column(String(20))  # role, active, permission, category, organization, org_*
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")
    target_user = relationship("User", foreign_keys=[target_user_id], lazy="joined")
    category = relationship("Category", lazy="joined")

    def __repr__(self):
        return f"<AuditEvent {self.kind} {self.old_value!r}->{self.new_value!r}>"
