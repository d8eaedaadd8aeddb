"""What readers browse: the categories with articles, popular articles, a category's articles, the sitemap.

Every list holds only the articles the viewer may read (policy.kb_reading_condition).
"""

import functools
from collections import namedtuple
from datetime import timedelta

from flask import has_request_context, request
from flask_login import AnonymousUserMixin, current_user
from sqlalchemy import Integer, bindparam, delete, func, select

from helpdesk import policy
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.kb import slugs
from helpdesk.kb.models import Article, ArticleDay, OldCategorySlug
from helpdesk.tickets.models import Category

POPULAR = 8
POPULAR_DAYS = 30


def _categories_statement():
    readable = select(Article.id).where(
        Article.category_id == Category.id, policy.kb_reading_condition_bound()
    )
    return select(Category.id, Category.name, readable.exists().label("readable")).order_by(
        func.lower(Category.name), Category.id
    )


# Every category with whether the viewer reads one of its articles (EXISTS on the reading index,
# not a count of every article): built once, read once per request and viewer.
CATEGORIES = _categories_statement()


def categories(viewer):
    """Every category as rows (id, name, readable), by name; `readable`: the viewer may read one of
    its articles. One query per request and viewer gives both the slugs of every article link
    (category_slugs) and the search box's choices (categories_to_search)."""
    params = policy.kb_reading_parameters(viewer)
    if not has_request_context():
        return db.session.execute(CATEGORIES, params).all()
    memo = request.__dict__.setdefault("_kb_categories", {})
    key = tuple(params[policy.KB_READING_PARAMETER])
    if key not in memo:
        memo[key] = db.session.execute(CATEGORIES, params).all()
    return memo[key]


def category_slugs():
    """{category id: slug} over every category (slugs stay unambiguous; kb/slugs.py)."""
    viewer = current_user if has_request_context() else None
    return slugs.category_slugs(categories(viewer))


def category_by_slug(slug):
    """The category whose slug this is, or None."""
    for category_id, candidate in category_slugs().items():
        if candidate == slug:
            return db.session.get(Category, category_id)
    return None


def category_moved(slug):
    """The category that had this slug before a rename (no category has it now), or None."""
    category_id = db.session.scalar(select(OldCategorySlug.category_id).where(OldCategorySlug.slug == slug))
    return db.session.get(Category, category_id) if category_id is not None else None


def on_category_renamed(category, old_name):
    """Keep the old slug of every category whose address the rename changed, so that it
    redirects: the renamed one's, and another's that the rename gave a slug to ("category-5"
    becomes "category" once the first category without Latin letters is renamed). Once per slug;
    a slug that is its category's own again is dropped (the current one answers)."""
    rows = [(c.id, old_name if c.id == category.id else c.name) for c in db.session.scalars(select(Category))]
    before = slugs.category_slugs([_Named(i, n) for i, n in rows])
    now = slugs.category_slugs(
        [_Named(i, n) for i, n in rows if i != category.id] + [_Named(category.id, category.name)]
    )
    moved = {i: before[i] for i in before if before[i] != now[i]}
    if not moved:
        return None
    gone = set(moved.values()) | {now[i] for i in moved}
    db.session.execute(delete(OldCategorySlug).where(OldCategorySlug.slug.in_(gone)))
    db.session.add_all(OldCategorySlug(slug=slug, category_id=i) for i, slug in moved.items())
    db.session.flush()
    return moved.get(category.id)


_Named = namedtuple("_Named", "id name")  # the shape slugs.category_slugs reads


def _categories_with_articles():
    count = func.count(Article.id)
    return (
        select(Category, count)
        .join(Article, Article.category_id == Category.id)
        .where(policy.kb_reading_condition_bound())
        .group_by(Category.id)
        .order_by(func.lower(Category.name), Category.id)
    )


CATEGORIES_WITH_ARTICLES = _categories_with_articles()  # the home page's: built once


def categories_with_articles(viewer):
    """[(category, number of articles the viewer may read)] for categories that have some, by name."""
    rows = db.session.execute(CATEGORIES_WITH_ARTICLES, policy.kb_reading_parameters(viewer)).all()
    return [(category, int(n)) for category, n in rows]


def categories_to_search(viewer):
    """(id, name) of the categories with an article the viewer may read, by name (the search
    box's choices)."""
    return [(row.id, row.name) for row in categories(viewer) if row.readable]


@functools.cache
def _popular_statements(limit):
    """The home page's three statements for `limit` articles, built once: the most read since
    `since`, the latest published (`room` of them) but `exclude`, and the articles of `ids`."""
    readable = policy.kb_reading_condition_bound()
    views = func.sum(ArticleDay.views)
    most_read = (
        select(ArticleDay.article_id)
        .join(Article, Article.id == ArticleDay.article_id)
        .where(ArticleDay.day >= bindparam("since"), readable)
        .group_by(ArticleDay.article_id)
        .order_by(views.desc(), ArticleDay.article_id)
        .limit(limit)
    )
    latest = (
        select(Article.id)
        .where(readable, Article.id.not_in(bindparam("exclude", expanding=True)))
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(bindparam("room", type_=Integer))
    )
    by_id = select(Article).where(Article.id.in_(bindparam("ids", expanding=True)))
    return most_read, latest, by_id


def popular(viewer, limit=POPULAR, days=POPULAR_DAYS):
    """The articles the viewer may read that were read most in the last `days` days (customers'
    and visitors' reads), topped up with the latest published when few were read."""
    most_read, latest, by_id = _popular_statements(limit)
    readable = policy.kb_reading_parameters(viewer)
    since = utcnow().date() - timedelta(days=days)
    ids = db.session.scalars(most_read, {"since": since, **readable}).all()
    if len(ids) < limit:
        room = {"exclude": ids or [0], "room": limit - len(ids), **readable}
        ids += db.session.scalars(latest, room).all()
    found = {a.id: a for a in db.session.scalars(by_id, {"ids": ids or [0]})}
    return [found[i] for i in ids if i in found]


def category_articles(viewer, category):
    """A SELECT of the category's articles the viewer may read, by title (the page paginates it)."""
    return (
        select(Article)
        .where(Article.category_id == category.id, policy.kb_reading_condition(viewer))
        .order_by(func.lower(Article.title), Article.id)
    )


def public_articles():
    """A SELECT of what a visitor who is not signed in may read (none when KB_PUBLIC is off), by id:
    the sitemap lists exactly these."""
    return select(Article).where(policy.kb_reading_condition(AnonymousUserMixin())).order_by(Article.id)


def public_categories():
    """The categories with articles a visitor may read, by id."""
    return [c for c, _n in categories_with_articles(AnonymousUserMixin())]


def latest_public_change():
    """When what the sitemap lists last changed (None before any article was published): the
    newest change of an article ever published, or the newest rename of a category (its
    articles' addresses changed with its slug). Not only of the articles listed now: one archived
    or made private since left the sitemap, and the newest of those left was older than what a
    crawler held, which it was told to keep (304) with the article in it."""
    changed = db.session.scalar(select(func.max(Article.updated_at)).where(Article.published_at.is_not(None)))
    renamed = db.session.scalar(select(func.max(OldCategorySlug.created_at)))
    return max((moment for moment in (changed, renamed) if moment is not None), default=None)
