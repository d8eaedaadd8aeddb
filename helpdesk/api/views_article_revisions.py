"""/api/v1/kb/articles/<id>/revisions: an article's history for its editors (the revisions pages
answer everyone else 404, so does the API), and restoring one through kb.revisions, the service of
the revision page's Restore button, guarded by If-Match like an edit."""

from flask import abort, url_for
from flask_login import current_user

from helpdesk.api import schemas
from helpdesk.api.answers import etag, if_match_version, keyset_page, run
from helpdesk.api.blueprints import api
from helpdesk.api.routing import respond
from helpdesk.api.views_articles import editable_article
from helpdesk.api.views_people import KB, KB_WRITE, article_out
from helpdesk.api.views_tickets import named
from helpdesk.kb import revisions
from helpdesk.kb.models import Revision


def revision_summary(article, item, model=schemas.RevisionSummary, **extra):
    return model(
        number=item.number,
        kind=item.kind,
        title=item.title,
        note=item.note,
        author=named(item.author),
        created_at=item.created_at,
        url=url_for("api.get_revision", article_id=article.id, number=item.number),
        **extra,
    )


@api.route(
    "/kb/articles/<int:article_id>/revisions", summary="List an article's revisions", tag="kb",
    scope=KB, query=schemas.PageQuery, response=schemas.RevisionList, errors=(404, 422),
)  # fmt: skip
def list_revisions(article_id, query):
    """Newest first, as on the revisions page; `after` is the last number of the page before.
    For the article's editors (its category's technicians, admins)."""
    article = editable_article(article_id)
    statement = revisions.revisions_query(article)
    if query.after:
        statement = statement.where(Revision.number < query.after)
    items, following = keyset_page(
        statement,
        query,
        lambda item: revision_summary(article, item),
        "api.list_revisions",
        key=lambda item: item.number,
        article_id=article.id,
    )
    return respond(schemas.RevisionList(items=items, next=following))


def _revision(article, number):
    found = revisions.revision(article, number)
    if found is None:
        abort(404)
    return found


@api.route(
    "/kb/articles/<int:article_id>/revisions/<int:number>", summary="Read a revision", tag="kb",
    scope=KB, response=schemas.Revision, errors=(404,),
)  # fmt: skip
def get_revision(article_id, number):
    """The title, tags and text as that save left them."""
    article = editable_article(article_id)
    item = _revision(article, number)
    tags = [name for name in item.tag_line.split(", ") if name]
    return respond(revision_summary(article, item, schemas.Revision, body=item.body, tags=tags))


@api.route(
    "/kb/articles/<int:article_id>/revisions/<int:number>/restore",
    "POST",
    summary="Restore a revision",
    tag="kb",
    scope=KB_WRITE,
    response=schemas.RevisionRestored,
    errors=(403, 404, 409, 412, 428),
    headers={"ETag": "The article's version after the restore."},
    request_headers={"If-Match": (True, "The ETag of the article as last read (412 when stale).")},
)
def restore_revision(article_id, number):
    """Its title, tags and text come back as a new revision of kind `restore` ("Restored
    revision N"), as with the Restore button; category, visibility and status stay. Nothing
    changes (restored false) when it has the current text already. If-Match as for an edit: the
    text saved since that version refuses it (412); status changes alone do not."""
    article = editable_article(article_id)
    seen = if_match_version(article.version, "article")
    _revision(article, number)
    made = run(
        revisions.restore_revision, current_user._get_current_object(), article, number, seen_version=seen
    )
    article = editable_article(article_id)
    answer = schemas.RevisionRestored(restored=made is not None, article=article_out(article))
    return respond(answer, headers={"ETag": etag(article.version)})
