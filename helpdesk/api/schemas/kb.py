"""Knowledge-base articles, their files and revisions."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from helpdesk.api.schemas.base import Created, Id, Input, Named, Output, Tags, Text, Title
from helpdesk.kb.models import STATUSES as ARTICLE_STATUSES
from helpdesk.kb.models import VISIBILITIES, VISIBILITY_CUSTOMERS


class ArticleCreate(Input):
    """A new article in a category the token's owner writes for (its technicians, admins): a
    draft unless `publish`."""

    category_id: Id
    title: Title
    body: Text
    visibility: Literal[VISIBILITIES] = VISIBILITY_CUSTOMERS
    tags: Tags = []
    publish: bool = False


class ArticleChange(Input):
    """The fields to change (each absent field stays as it is), saved as one revision like the
    editor's Save; the status changes through /status."""

    category_id: Id | None = None
    title: Title | None = None
    body: Text | None = None
    visibility: Literal[VISIBILITIES] | None = None
    tags: Tags | None = None


class ArticleStatus(Input):
    """Publish, archive, or move back to draft (the editor's buttons)."""

    status: Literal[ARTICLE_STATUSES]


class ArticleSummary(Output):
    id: int
    title: str
    slug: str
    category: Named | None
    visibility: str
    updated_at: datetime | None
    url: str


class ArticleList(Output):
    items: list[ArticleSummary]
    next: str | None


class Article(ArticleSummary):
    body: str
    status: str
    tags: list[str]
    version: int = Field(description="Send it back in If-Match to change the article.")


class ArticleCreated(Created):
    article: Article
