"""What readers browse: the categories with articles, popular articles, a category's articles, the sitemap.

Every list holds only the articles the viewer may read (policy.kb_reading_condition).
"""

import functools
from datetime import timedelta

from flask_login import AnonymousUserMixin
from sqlalchemy import Integer, bindparam, func, select

from helpdesk import policy
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.kb import slugs
from helpdesk.kb.models import Article, ArticleDay
from helpdesk.tickets.models import Category

POPULAR = 8
POPULAR_DAYS = 30


# Read on every page that links to articles: rows (id, name), from a statement built once.
CATEGORY_NAMES = select(Category.id, Category.name)


def category_slugs():
    """{category id: slug} over every category (slugs stay unambiguous; kb/slugs.py)."""
    return slugs.category_slugs(db.session.execute(CATEGORY_NAMES).all())


def category_by_slug(slug):
    """The category whose slug this is, or None."""
    for category_id, candidate in category_slugs().items():
        if candidate == slug:
            return db.session.get(Category, category_id)
    return None


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


def _categories_to_search():
    readable = select(Article.id).where(
        Article.category_id == Category.id, policy.kb_reading_condition_bound()
    )
    return (
        select(Category.id, Category.name)
        .where(readable.exists())
        .order_by(func.lower(Category.name), Category.id)
    )


CATEGORIES_TO_SEARCH = _categories_to_search()  # every page's search box: built once


def categories_to_search(viewer):
    """(id, name) of the categories with an article the viewer may read, by name (the search
    box's choices; EXISTS on the reading index, not a count of every article)."""
    return db.session.execute(CATEGORIES_TO_SEARCH, policy.kb_reading_parameters(viewer)).all()


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
    """When the newest public article last changed (None without any): the sitemap's Last-Modified."""
    return db.session.scalar(
        select(func.max(Article.updated_at)).where(policy.kb_reading_condition(AnonymousUserMixin()))
    )
