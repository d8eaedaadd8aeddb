"""Slugs: the readable last parts of article and category addresses (/kb/<category>/<article>).

An article's slug comes from its title and is unique across the knowledge base, old slugs
included, so an address names one article for good: renaming an article gives it a new slug
and keeps the old one as a permanent redirect. A category's slug comes from its name; the
category part of an article's address only reads well (a wrong or outdated one redirects),
the article's slug alone finds it.
"""

import re
import unicodedata

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.kb.models import Article, OldSlug

MAX_SLUG = 80
# Words the /kb/ addresses use themselves: a category named "Search" gets "search-<id>".
RESERVED = frozenset({"search", "suggest", "sitemap", "sitemap-xml", "files", "feedback"})


def slugify(text, fallback="article"):
    """Lower-case ASCII words joined by hyphens, at most MAX_SLUG characters, cut at a word:
    "VPN drops: what to do (2.0)" -> "vpn-drops-what-to-do-2-0"."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] or slug[:MAX_SLUG]
    return slug or fallback


def _numbered(base, number):
    return base if number == 1 else f"{base[: MAX_SLUG - len(str(number)) - 1]}-{number}"


def _taken_like(base, article_id):
    """The slugs of other articles, now or before a rename, that free_slug could give for `base`
    (and a few more): read in two queries, however many articles share the base."""
    stem = base[: MAX_SLUG - 11]  # what every numbered slug of `base` starts with (up to 10 digits)
    taken = set()
    for slug, owner in ((Article.slug, Article.id), (OldSlug.slug, OldSlug.article_id)):
        query = select(slug).where((slug == base) | slug.like(f"{stem}%-%"))
        if article_id is not None:
            query = query.where(owner != article_id)
        taken.update(db.session.scalars(query))
    return taken


def free_slug(title, article_id=None):
    """A slug for `title` no other article uses: the title's own, else with -2, -3, ... appended.

    Without a limit: a title without a Latin letter or digit (Cyrillic, Greek, Chinese...) has the
    slug "article", so a knowledge base written in such a language numbers every article of it
    ("article-2", "article-3", ...); it refused its 200th article (a 500), having tried each
    number with two queries."""
    base = slugify(title)
    taken = _taken_like(base, article_id)
    number = 1
    while _numbered(base, number) in taken:
        number += 1
    return _numbered(base, number)


def category_slugs(categories):
    """{category id: slug} for `categories` (every category, for unambiguous slugs): the name's
    slug, with "-<id>" added when it is reserved or an earlier category (by id) has it."""
    slugs, used = {}, set()
    for category in sorted(categories, key=lambda c: c.id):
        slug = slugify(category.name, fallback="category")
        if slug in RESERVED or slug in used:
            slug = f"{slug}-{category.id}"
        slugs[category.id] = slug
        used.add(slug)
    return slugs
