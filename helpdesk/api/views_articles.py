"""/api/v1/kb/articles/<id>: editing an article (If-Match) and its status, through the knowledge
base's own services (kb.articles.save_article and set_status, as the editor's Save and buttons)."""

from flask import abort
from flask_login import current_user

from helpdesk import policy
from helpdesk.api import schemas
from helpdesk.api.answers import etag, if_match_version, run, sent_fields
from helpdesk.api.blueprints import api
from helpdesk.api.routing import respond
from helpdesk.api.views_people import KB_WRITE, article_out
from helpdesk.kb import articles


def editable_article(article_id):
    """The article if the token's owner may edit it; 404 otherwise, whether it exists or not, and
    also when they may only read it: the editor's page (/agent/kb/<id>) answers them 404 too."""
    article = articles.get_article(article_id)
    if not policy.can_edit_article(current_user, article):
        abort(404)
    return article


def _changed_article(article):
    return respond(article_out(article), headers={"ETag": etag(article.version)})


@api.route(
    "/kb/articles/<int:article_id>",
    "PATCH",
    summary="Edit an article",
    tag="kb",
    scope=KB_WRITE,
    body=schemas.ArticleChange,
    response=schemas.Article,
    errors=(400, 403, 404, 409, 412, 415, 422, 428),
    headers={"ETag": "The article's new version."},
    request_headers={"If-Match": (True, "The ETag of the article as last read (412 when stale).")},
)
def change_article(article_id, body):
    """Title, text, tags, visibility and category, saved as the editor's Save saves them: one
    revision when something changed, a new address for a new title (the old one redirects).
    Guarded by If-Match: an edit made on an older text is refused (412) and nothing is saved; a
    status change made since (published, archived) does not count against it, as in the editor."""
    article = editable_article(article_id)
    seen = if_match_version(article.version, "article")
    sent = sent_fields(body)
    run(
        articles.save_article,
        current_user._get_current_object(),
        article,
        seen_version=seen,
        category_id=sent.get("category_id", article.category_id),
        title=sent.get("title", article.title),
        body=sent.get("body", article.body),
        visibility=sent.get("visibility", article.visibility),
        tags=", ".join(sent["tags"]) if "tags" in sent else article.tag_line,
    )
    return _changed_article(editable_article(article_id))


@api.route(
    "/kb/articles/<int:article_id>/status",
    "PUT",
    summary="Publish or archive an article",
    tag="kb",
    scope=KB_WRITE,
    body=schemas.ArticleStatus,
    response=schemas.Article,
    errors=(400, 403, 404, 409, 415, 422),
    headers={"ETag": "The article's new version."},
)
def set_article_status(article_id, body):
    """Publish, archive or move back to draft, like the editor's buttons (which need no version:
    setting the status it already has changes nothing); a change is a revision of its own."""
    article = editable_article(article_id)
    run(articles.set_status, current_user._get_current_object(), article, body.status)
    return _changed_article(editable_article(article_id))
