"""/api/v1/kb/articles/<id>/files: an article's images and attachments, read by whoever may read
the article (as its page's files are), added and removed by its editors through the knowledge
base's own services (kb.files: the editor's upload checks and limits)."""

from flask import Response, abort, request, url_for
from flask_login import current_user
from sqlalchemy import select

from helpdesk import policy
from helpdesk.api import schemas
from helpdesk.api.answers import create, keyset_page, run
from helpdesk.api.blueprints import api
from helpdesk.api.problems import ApiProblem
from helpdesk.api.routing import respond
from helpdesk.api.views_articles import editable_article
from helpdesk.api.views_messages import send_attachment
from helpdesk.api.views_people import KB, KB_WRITE
from helpdesk.kb import adding_files, articles, files
from helpdesk.kb.models import ArticleFile

FIELD = "files"


def readable_article(article_id):
    """The article if the token's owner may read it (its page would show), else 404."""
    article = articles.get_article(article_id)
    if not policy.can_read_article(current_user, article):
        abort(404)
    return article


def file_out(entry):
    item = entry.attachment
    return schemas.ArticleFileOut(
        id=entry.id,
        filename=item.filename,
        content_type=item.content_type,
        size=item.size,
        image=entry.is_image,
        created_at=entry.created_at,
        url=url_for("api.download_article_file", article_id=entry.article_id, file_id=entry.id),
    )


@api.route(
    "/kb/articles/<int:article_id>/files", summary="List an article's files", tag="kb", scope=KB,
    query=schemas.PageQuery, response=schemas.ArticleFileList, errors=(404, 422),
)  # fmt: skip
def list_article_files(article_id, query):
    """Its images and attachments, oldest first: for whoever may read the article."""
    article = readable_article(article_id)
    statement = (
        select(ArticleFile)
        .where(ArticleFile.article_id == article.id, ArticleFile.id > query.after)
        .order_by(ArticleFile.id)
    )
    items, following = keyset_page(
        statement, query, file_out, "api.list_article_files", article_id=article.id
    )
    return respond(schemas.ArticleFileList(items=items, next=following))


@api.route(
    "/kb/articles/<int:article_id>/files/<int:file_id>", summary="Download an article's file",
    tag="kb", scope=KB, binary=True, errors=(404, 503),
)  # fmt: skip
def download_article_file(article_id, file_id):
    """The file, for whoever may read the article (policy.can_download_kb_file, as its page)."""
    entry = files.get_file(readable_article(article_id), file_id)
    if not policy.can_download_kb_file(current_user, entry):
        abort(404)
    return send_attachment(entry.attachment)


def _sent():
    other = sorted(set(request.files) - {FIELD})
    if other:
        errors = [{"field": name, "message": f"Send files in `{FIELD}`."} for name in other]
        raise ApiProblem(422, "Some values were refused: see errors.", errors=errors)
    return [(f.filename, f.read()) for f in request.files.getlist(FIELD) if f and f.filename]


@api.route(
    "/kb/articles/<int:article_id>/files",
    "POST",
    summary="Add files to an article",
    tag="kb",
    scope=KB_WRITE,
    body=schemas.ArticleFilesIn,
    files_only=True,
    response=schemas.ArticleFilesAdded,
    status=201,
    errors=(400, 403, 404, 409, 413, 415, 422),
    request_headers={"Idempotency-Key": (False, "Retries with the same key and files get the first answer.")},
)
def add_article_files(article_id, body):
    """multipart/form-data, the files in `files`: the editor's upload checks (type and content,
    size, files at once) and its limit of files per article. All or none: when one file is
    refused none is added, and each refused file is named in `errors`."""
    article = editable_article(article_id)
    sent = _sent()
    actor = current_user._get_current_object()

    def render(added):
        answer = schemas.ArticleFilesAdded(files=[file_out(entry) for entry in added])
        return answer, 201, url_for("api.list_article_files", article_id=article.id)

    return create(lambda _key: adding_files.add_files(actor, article, sent), render, payload={}, files=sent)


@api.route(
    "/kb/articles/<int:article_id>/files/<int:file_id>", "DELETE", summary="Remove an article's file",
    tag="kb", scope=KB_WRITE, status=204, errors=(403, 404, 409),
)  # fmt: skip
def remove_article_file(article_id, file_id):
    """The file and its stored bytes go, as with the editor's Remove button."""
    article = editable_article(article_id)
    if files.get_file(article, file_id) is None:
        abort(404)
    run(files.remove_file, current_user._get_current_object(), article, file_id)
    return Response(status=204, headers={"Cache-Control": "no-store"})
