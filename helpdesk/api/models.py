"""Personal access tokens of the REST API and the answers kept for its Idempotency-Keys."""

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db


class ApiToken(db.Model):
    """A personal access token: it acts as its owner, within its scopes, until it expires or is
    revoked. Only the SHA-256 of the secret is kept (the secret is shown once, when made)."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_owner", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the secret's first characters, to tell tokens apart
    scopes: Mapped[str] = mapped_column(String(400))  # "tickets:read tickets:write credits:read"
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    last_used_at = mapped_column(UTCDateTime)
    revoked_at = mapped_column(UTCDateTime)

    owner = relationship("User", lazy="joined")

    @property
    def scope_set(self):
        return frozenset(self.scopes.split())


class IdempotentRequest(db.Model):
    """The first answer to a create sent with an Idempotency-Key, by the key's owner: a retry with
    the same body gets it again; the same key with another body is refused."""

    __tablename__ = "api_idempotent_requests"
    __table_args__ = (
        UniqueConstraint("user_id", "key_hash"),
        Index("ix_api_idempotent_requests_created_at", "created_at"),  # pruning (idempotency.prune)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key_hash: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    location: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
