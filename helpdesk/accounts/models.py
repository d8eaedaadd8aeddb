"""Users, organizations, technician category permissions, throttling counters, two-factor recovery codes
and the administrative audit trail."""

import secrets

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, and_, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db

ROLE_CUSTOMER = "customer"
ROLE_TECHNICIAN = "technician"
ROLE_ADMIN = "admin"
ROLES = (ROLE_CUSTOMER, ROLE_TECHNICIAN, ROLE_ADMIN)
AGENT_ROLES = (ROLE_TECHNICIAN, ROLE_ADMIN)


def new_session_token():
    return secrets.token_hex(16)


class Organization(db.Model):
    __tablename__ = "organizations"
    # Names are unique ignoring case (services/names.py says so first, with a clear message).
    __table_args__ = (Index("uq_organizations_lower_name", text("lower(name)"), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    # Loaded only when asked for: an organization can have thousands of members.
    members = relationship("User", back_populates="organization", lazy="select")

    def __repr__(self):
        return f"<Organization {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (db.CheckConstraint("role IN ('customer', 'technician', 'admin')", name="role_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default=ROLE_CUSTOMER, index=True)
    active: Mapped[bool] = mapped_column(default=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    is_org_manager: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Rotated on logout and password change: sessions and remember-me cookies carry it.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # None until a self-registered customer opens the confirmation link (they cannot sign in and
    # get no ticket mail until then); every other way of creating an account confirms it at once.
    email_confirmed_at = mapped_column(UTCDateTime)
    # Moves on at every reset link sent and every password change: only the newest link works.
    reset_serial: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # TOTP (RFC 6238): the base32 secret once set up, when it was turned on, and the last time
    # step a code was accepted for (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column()
    # When an admin erased this customer's personal data (accounts/erasure.py): the account is
    # deactivated and anonymised for good from then on.
    erased_at = mapped_column(UTCDateTime)

    organization = relationship("Organization", back_populates="members", lazy="joined")
    category_permissions = relationship(
        "CategoryPermission", back_populates="user", cascade="all, delete-orphan", lazy="select"
    )  # loaded on first use (agents only), not with every user row
    # The granted category ids as "1,3" ("" for none), loaded in the same query as the signed-in
    # user (accounts.auth.load_session_user); None whenever it was not loaded that way, or was
    # expired with category_permissions: policy.permitted_category_ids then reads the relationship.
    granted_category_csv = query_expression()

    def __init__(self, **kwargs):
        # Confirmed when created unless told otherwise (a column default would also replace an
        # explicit None, the one value self-registration needs).
        kwargs.setdefault("email_confirmed_at", utcnow())
        super().__init__(**kwargs)

    @property
    def is_active(self):  # Flask-Login: deactivated users cannot log in
        return self.active

    @property
    def is_agent(self):
        return self.role in AGENT_ROLES

    @property
    def is_admin(self):
        return self.role == ROLE_ADMIN

    @property
    def is_customer(self):
        return self.role == ROLE_CUSTOMER

    @property
    def email_confirmed(self):
        return self.email_confirmed_at is not None

    @property
    def erased(self):
        return self.erased_at is not None

    @property
    def two_factor_enabled(self):
        return self.totp_enabled_at is not None

    def get_id(self):
        return f"{self.id}:{self.session_token}"

    def __repr__(self):
        return f"<User {self.email} {self.role}>"


# Active technicians and admins: the seats, the queue's agents, who may be assigned. The roles are
# written into the SQL (no bind parameters) so that SQLite and PostgreSQL can prove that a query
# with this condition matches the partial index below, which holds only those few rows: counting
# or listing agents never reads the customers.
ACTIVE_AGENT = and_(
    User.role.in_([literal_column(f"'{ROLE_TECHNICIAN}'"), literal_column(f"'{ROLE_ADMIN}'")]),
    User.active.is_(True),
)
Index("ix_users_active_agents", User.name, sqlite_where=ACTIVE_AGENT, postgresql_where=ACTIVE_AGENT)


class CategoryPermission(db.Model):
    """A technician may see and work the tickets of this category."""

    __tablename__ = "category_permissions"
    __table_args__ = (UniqueConstraint("user_id", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)

    user = relationship("User", back_populates="category_permissions")
    category = relationship("Category", lazy="joined")


class Throttle(db.Model):
    """A counter per key (failed sign-ins per account, per account and address, per address;
    registrations per address) over a fixed window that starts at its first count.

    Counted with one atomic upsert (accounts/throttle.py), so concurrent requests on any number of
    workers and servers never read the same count.
    """

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start = mapped_column(UTCDateTime, nullable=False, index=True)
    count: Mapped[int] = mapped_column(default=0)


class RecoveryCode(db.Model):
    """A two-factor recovery code: only its SHA-256 is kept (the codes are 80 random bits), usable once."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    used_at = mapped_column(UTCDateTime)


AUDIT_ROLE = "role"
AUDIT_ACTIVE = "active"
AUDIT_PERMISSION = "permission"
AUDIT_CATEGORY = "category"
AUDIT_CATEGORY_DESCRIPTION = "category_description"  # what the category is for (old/new texts)
AUDIT_ORGANIZATION = "organization"  # created or renamed (old/new names)
AUDIT_ORG_MEMBER = "org_member"  # joined, moved or left (old/new organization names)
AUDIT_ORG_MANAGER = "org_manager"  # manager flag set or cleared
AUDIT_DETAILS = "details"  # name or e-mail address corrected by an admin (old/new value)
AUDIT_TWO_FACTOR = "two_factor"  # two-step sign-in turned off by an admin (old "on", new "off")
AUDIT_ERASED = "erased"  # a customer's personal data erased (new "personal data erased", nothing else)


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


# --- Agent availability (issue 16 item 8: round-robin assignment) ----------------------------------
class AgentAvailability(db.Model):
    """An agent's own switches: `round_robin` (take new tickets of the round-robin categories they
    are granted) and `away` (take none meanwhile). No row: neither (the defaults)."""

    __tablename__ = "agent_availability"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    round_robin: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    away: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
