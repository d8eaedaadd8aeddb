"""Knowledge-base articles and what hangs off them: revisions, old slugs, tags, files and votes; and
what the reports count (views per article and day, suggestions opened, searches)."""

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.dbtypes import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.kb import search_schema

VISIBILITY_PUBLIC = "public"
VISIBILITY_CUSTOMERS = "customers"
VISIBILITY_AGENTS = "agents"
VISIBILITIES = (VISIBILITY_PUBLIC, VISIBILITY_CUSTOMERS, VISIBILITY_AGENTS)
VISIBILITY_LABELS = {
    VISIBILITY_PUBLIC: "Public",
    VISIBILITY_CUSTOMERS: "Signed-in customers",
    VISIBILITY_AGENTS: "Agents only",
}

STATUS_DRAFT = "draft"
STATUS_PUBLISHED = "published"
STATUS_ARCHIVED = "archived"
STATUSES = (STATUS_DRAFT, STATUS_PUBLISHED, STATUS_ARCHIVED)
STATUS_LABELS = {STATUS_DRAFT: "Draft", STATUS_PUBLISHED: "Published", STATUS_ARCHIVED: "Archived"}


class Article(db.Model):
    """An article: Markdown text in a ticket category (whose technicians edit it), read by whom its
    visibility allows once published. Every save is also kept as a Revision."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        db.CheckConstraint("visibility IN ('public', 'customers', 'agents')", name="visibility_valid"),
        db.CheckConstraint("status IN ('draft', 'published', 'archived')", name="status_valid"),
        Index("ix_kb_articles_reading", "status", "visibility", "category_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), unique=True)  # the URL's last part; old ones redirect
    body: Mapped[str] = mapped_column(Text)
    tag_line: Mapped[str] = mapped_column(String(600), default="")  # the tags, comma-separated (searched)
    visibility: Mapped[str] = mapped_column(String(20), default=VISIBILITY_CUSTOMERS)
    status: Mapped[str] = mapped_column(String(20), default=STATUS_DRAFT)
    version: Mapped[int] = mapped_column(default=1)  # the number of its latest revision
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    published_at = mapped_column(UTCDateTime)  # first published
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The agent's message it was made from ("Turn this reply into an article"), if any.
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))

    category = relationship("Category", lazy="joined")
    updated_by = relationship("User", foreign_keys=[updated_by_id])
    tags = relationship(
        "ArticleTag", back_populates="article", order_by="ArticleTag.name", cascade="all, delete-orphan"
    )
    files = relationship(
        "ArticleFile", back_populates="article", order_by="ArticleFile.id", cascade="all, delete-orphan"
    )

    @property
    def tag_names(self):
        return [t.name for t in self.tags]

    @property
    def is_published(self):
        return self.status == STATUS_PUBLISHED

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def visibility_label(self):
        return VISIBILITY_LABELS[self.visibility]

    def __repr__(self):
        return f"<Article {self.slug}>"


search_schema.install(Article.__table__)  # the article's search document (kb/search_schema.py)


class ArticleTag(db.Model):
    __tablename__ = "kb_article_tags"
    __table_args__ = (UniqueConstraint("article_id", "name"), Index("ix_kb_article_tags_name", "name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))

    article = relationship("Article", back_populates="tags")


class OldSlug(db.Model):
    """A slug an article had before it was renamed: its URL answers with a permanent redirect."""

    __tablename__ = "kb_old_slugs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class OldCategorySlug(db.Model):
    """A slug a category had before it was renamed: its knowledge-base address (/kb/<slug>/)
    answers with a permanent redirect, unless a category has that slug now (kb.reading)."""

    __tablename__ = "kb_old_category_slugs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Revision(db.Model):
    """One save of an article: who, when, the title, tags and text as saved, and what else changed."""

    __tablename__ = "kb_revisions"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))  # create, edit, status, restore
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tag_line: Mapped[str] = mapped_column(String(600), default="")
    note: Mapped[str] = mapped_column(String(400), default="")  # "Published", "Restored revision 2", ...
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    author = relationship("User", lazy="joined")


class ArticleFile(db.Model):
    """An image or attachment of an article: an upload row of the tickets domain (the same checks
    and storage as ticket attachments), kept for the article instead of a ticket."""

    __tablename__ = "kb_article_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    article = relationship("Article", back_populates="files")
    attachment = relationship("Attachment", lazy="joined")

    @property
    def filename(self):
        return self.attachment.filename

    @property
    def is_image(self):
        return self.attachment.content_type.startswith("image/")

    @property
    def alt_text(self):
        """The file's name without its extension, words apart: "vpn-settings.png" -> "vpn settings"."""
        stem = self.attachment.filename.rsplit(".", 1)[0]
        return " ".join(stem.replace("_", " ").replace("-", " ").split()) or "image"


class Vote(db.Model):
    """'Was this helpful?': one per signed-in user, or per browser for visitors; a 'no' may carry a
    comment for the authors. Voting again changes the vote."""

    __tablename__ = "kb_votes"
    __table_args__ = (
        UniqueConstraint("article_id", "user_id"),
        UniqueConstraint("article_id", "browser_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    browser_key: Mapped[str | None] = mapped_column(String(64))
    helpful: Mapped[bool]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)

    user = relationship("User", lazy="joined")


class ArticleDay(db.Model):
    """How often an article was read on one UTC day (by customers and visitors, not agents)."""

    __tablename__ = "kb_article_days"
    __table_args__ = (Index("ix_kb_article_days_day", "day"),)

    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True
    )
    day = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(default=0)


class SuggestionClick(db.Model):
    """A customer opened an article suggested beside the new-ticket form (the form's key names
    the form): the report counts a deflection when no ticket follows (kb/tracking.py)."""

    __tablename__ = "kb_suggestion_clicks"
    __table_args__ = (UniqueConstraint("user_id", "form_key", "article_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    form_key: Mapped[str] = mapped_column(String(64))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)


class SearchCount(db.Model):
    """Searches of the knowledge base per UTC day, query (its words) and category filter (0: all),
    and how many of them found nothing: the gaps to write next."""

    __tablename__ = "kb_search_counts"
    __table_args__ = (UniqueConstraint("day", "query", "category_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day = mapped_column(Date, nullable=False)
    query: Mapped[str] = mapped_column(String(200))
    category_scope: Mapped[int] = mapped_column(default=0)  # the category searched in, 0 for all
    searches: Mapped[int] = mapped_column(default=0)
    empty: Mapped[int] = mapped_column(default=0)  # of which found no article
    last_at = mapped_column(UTCDateTime, nullable=False)
