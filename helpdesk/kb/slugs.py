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


def is_taken(slug, article_id=None):
    """Whether `slug` names another article, now or before a rename."""
    current = db.session.scalar(select(Article.id).where(Article.slug == slug))
    if current is not None and current != article_id:
        return True
    old = db.session.scalar(select(OldSlug.article_id).where(OldSlug.slug == slug))
    return old is not None and old != article_id


def free_slug(title, article_id=None):
    """A slug for `title` no other article uses: the title's own, else with -2, -3, ... appended."""
    base = slugify(title)
    for number in range(1, 200):
        candidate = base if number == 1 else f"{base[: MAX_SLUG - len(str(number)) - 1]}-{number}"
        if not is_taken(candidate, article_id):
            return candidate
    raise RuntimeError("no free slug")  # 200 articles of one title: not a help desk


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
