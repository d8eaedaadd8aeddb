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


class ArticleFilesIn(Input):
    """multipart/form-data with the files in `files` (no other field): the editor's upload
    checks (type, content, size, how many at once) and at most 30 files per article."""


class ArticleFileOut(Output):
    id: int
    filename: str
    content_type: str
    size: int
    image: bool = Field(description="An image (shown in the article) rather than an attachment.")
    created_at: datetime
    url: str = Field(description="Its download through the API.")


class ArticleFileList(Output):
    items: list[ArticleFileOut]
    next: str | None


class ArticleFilesAdded(Output):
    files: list[ArticleFileOut] = Field(description="The files this upload added.")


class RevisionSummary(Output):
    number: int = Field(description="The article's version this save made.")
    kind: str = Field(description="create, edit, status or restore.")
    title: str
    note: str
    author: Named | None
    created_at: datetime
    url: str


class RevisionList(Output):
    items: list[RevisionSummary]
    next: str | None


class Revision(RevisionSummary):
    body: str
    tags: list[str]


class RevisionRestored(Output):
    restored: bool = Field(
        description="False when the revision has the current text already: nothing changed."
    )
    article: Article
