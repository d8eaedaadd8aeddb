"""/api/v1/users, /organizations, technicians' permissions (admins) and knowledge-base articles
(everyone who may read them): read only."""

from flask import abort, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from helpdesk import policy
from helpdesk.accounts.models import CategoryPermission, Organization, User
from helpdesk.api import schemas
from helpdesk.api.answers import create, etag, keyset_page
from helpdesk.api.blueprints import api
from helpdesk.api.routing import respond
from helpdesk.api.views_tickets import named
from helpdesk.extensions import db
from helpdesk.kb import articles
from helpdesk.kb import models as kb
from helpdesk.tickets.models import Category

PEOPLE, KB, KB_WRITE = ("people", "read"), ("kb", "read"), ("kb", "write")


def _admin_only():
    """The admin pages answer 404 to everyone else: so does their API."""
    if not policy.can_administer(current_user):
        abort(404)


def _page(statement, column, query, out, endpoint, **args):
    return keyset_page(statement.where(column > query.after).order_by(column), query, out, endpoint, **args)


def user_out(user):
    return schemas.UserOut(
        id=user.id,
        name=user.name,
        email=user.email,
        role=user.role,
        active=user.active,
        organization=named(user.organization),
        is_org_manager=user.is_org_manager,
    )


@api.route(
    "/users", summary="List users (admins)", tag="people", scope=PEOPLE, query=schemas.PageQuery,
    response=schemas.UserList, errors=(404, 422),
)  # fmt: skip
def list_users(query):
    """Every user, by id."""
    _admin_only()
    items, following = _page(select(User), User.id, query, user_out, "api.list_users")
    return respond(schemas.UserList(items=items, next=following))


@api.route(
    "/users/<int:user_id>",
    summary="A user (admins)",
    tag="people",
    scope=PEOPLE,
    response=schemas.UserOut,
    errors=(404,),
)
def get_user(user_id):
    _admin_only()
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return respond(user_out(user))


@api.route(
    "/users/<int:user_id>/permissions", summary="A technician's categories (admins)", tag="people",
    scope=PEOPLE, response=schemas.Permissions, errors=(404,),
)  # fmt: skip
def get_permissions(user_id):
    """The categories whose tickets a technician works (admins work every category)."""
    _admin_only()
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return respond(permissions_out(user))


def permissions_out(user):
    granted = select(CategoryPermission.category_id).where(CategoryPermission.user_id == user.id)
    categories = db.session.scalars(select(Category).where(Category.id.in_(granted)).order_by(Category.name))
    return schemas.Permissions(user_id=user.id, categories=[named(c) for c in categories])


@api.route(
    "/organizations", summary="List organizations (admins)", tag="people", scope=PEOPLE,
    query=schemas.PageQuery, response=schemas.OrganizationList, errors=(404, 422),
)  # fmt: skip
def list_organizations(query):
    _admin_only()
    items, following = _page(select(Organization), Organization.id, query, named, "api.list_organizations")
    return respond(schemas.OrganizationList(items=items, next=following))


def article_summary(article, model=schemas.ArticleSummary, **extra):
    return model(
        id=article.id,
        title=article.title,
        slug=article.slug,
        category=named(article.category),
        visibility=article.visibility,
        updated_at=article.updated_at,
        url=url_for("api.get_article", article_id=article.id),
        **extra,
    )


@api.route(
    "/kb/articles", summary="List articles", tag="kb", scope=KB, query=schemas.PageQuery,
    response=schemas.ArticleList, errors=(422,),
)  # fmt: skip
def list_articles(query):
    """The published articles the token's owner may read (the knowledge base's own rule), by id."""
    statement = select(kb.Article).where(policy.kb_reading_condition(current_user))
    statement = statement.options(selectinload(kb.Article.tags))
    items, following = _page(statement, kb.Article.id, query, article_summary, "api.list_articles")
    return respond(schemas.ArticleList(items=items, next=following))


@api.route(
    "/kb/articles/<int:article_id>",
    summary="Read an article",
    tag="kb",
    scope=KB,
    response=schemas.Article,
    errors=(404,),
    headers={"ETag": "The article's version, for If-Match."},
)
def get_article(article_id):
    """An article (its Markdown); 404 when its page would be missing for the token's owner."""
    article = db.session.get(kb.Article, article_id)
    if not policy.can_read_article(current_user, article):
        abort(404)
    return respond(article_out(article), headers={"ETag": etag(article.version)})


def article_out(article):
    return article_summary(
        article,
        schemas.Article,
        body=article.body,
        status=article.status,
        tags=list(article.tag_names),
        version=article.version,
    )


@api.route(
    "/kb/articles", "POST", summary="Write an article", tag="kb", scope=KB_WRITE, body=schemas.ArticleCreate,
    response=schemas.ArticleCreated, status=201, errors=(400, 403, 415, 422),
    request_headers={"Idempotency-Key": (False, "Retries with the same key and body get the first answer.")},
)  # fmt: skip
def create_article(body):
    """Through the knowledge base's own service: its technicians write a category's articles
    (admins every category's), with a first revision and a slug of its own."""
    actor = current_user._get_current_object()
    fields = body.model_dump()
    fields["tags"] = ", ".join(body.tags)

    def render(article):
        answer = schemas.ArticleCreated(created=True, article=article_out(article))
        return answer, 201, url_for("api.get_article", article_id=article.id)

    def visible(answer):  # a kept answer's article (a draft, perhaps), still the actor's to read
        return policy.can_read_article(actor, db.session.get(kb.Article, answer["article"]["id"]))

    return create(
        lambda _key: articles.create_article(actor, **fields),
        render,
        payload=body.model_dump(),
        visible=visible,
    )
