"""Knowledge-base search, suggestions and related articles, on either database.

Words are read as tickets' are (tickets/search.py `terms`: letters and digits, case folded, at
most eight, never query syntax), less common English words ("how to reset my password" looks
for "reset password") unless nothing else is left. Each word matches as a word prefix in the
title, the tags or the text.

- The search box wants every word; when no article has them all, it offers those with any of
  them, saying so. Results are ranked: a match in the title counts most, then the tags, then
  the text (PostgreSQL: ts_rank over weights A, B, D; SQLite: bm25 with weights 10, 5, 1).
- Suggestions (beside the new-ticket form's subject) want any of the words of at least two
  letters (a subject is a sentence, not a query), in the title or tags, or two of them anywhere.
  At most five, best first.
- Related articles share tags with the article (most shared first), then its category.

Nothing here decides who may read what: every query is narrowed by policy.kb_reading_condition.
"""

import bisect
import re
import unicodedata
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import case, func, literal, literal_column, select

from helpdesk import policy
from helpdesk.extensions import db
from helpdesk.kb.models import Article, ArticleTag
from helpdesk.kb.search_schema import FTS_TABLE, SEARCH_COLUMN, SQLITE_WEIGHTS, fts_table
from helpdesk.tickets.search import WORD, prefix_fts5_match, prefix_tsquery, terms

SUGGESTIONS = 5
RELATED = 5
STOP_WORDS = frozenset(
    "a an and are as at be been but by can could do does did for from has have how i if in into is "
    "it its me my no not of on or our so than that the their them then there these they this to too "
    "us was we were what when where which who why will with would you your".split()
)


def words(query):
    """The words a search looks for: `terms(query)` less common English words, unless only
    those were typed (then all of them)."""
    found = terms(query)
    kept = [word for word in found if word not in STOP_WORDS]
    return kept or found


def suggestion_words(text):
    """The words of a subject worth suggesting on: no common words, at least two letters each."""
    return [word for word in terms(text) if word not in STOP_WORDS and len(word) >= 2]


def _ranked(condition, found, *, any_word, prefer_category=None):
    """A SELECT of the articles matching `found` (all, or any with `any_word`) under `condition`,
    best first (among equals, those of `prefer_category` first)."""
    preferred = [case((Article.category_id == prefer_category, 0), else_=1)] if prefer_category else []
    if db.session.get_bind().dialect.name == "postgresql":
        # Written into the SQL, not a parameter (as tickets/search.py does): the plan depends on the words.
        tsquery = func.to_tsquery(
            literal_column("'simple'::regconfig"),
            literal(prefix_tsquery(found, "|" if any_word else "&"), literal_execute=True),
        )
        document = literal_column(f"{Article.__tablename__}.{SEARCH_COLUMN}")
        return (
            select(Article)
            .where(document.bool_op("@@")(tsquery), condition)
            .order_by(func.ts_rank(document, tsquery).desc(), *preferred, Article.id)
        )
    match = prefix_fts5_match(found, " OR " if any_word else " ")
    scored = (
        select(
            fts_table.c.rowid.label("article_id"),
            func.bm25(literal_column(FTS_TABLE), *SQLITE_WEIGHTS).label("score"),
        )
        .where(fts_table.c[FTS_TABLE].bool_op("MATCH")(literal(match)))
        .subquery()
    )
    return (
        select(Article)
        .join(scored, scored.c.article_id == Article.id)
        .where(condition)
        .order_by(scored.c.score, *preferred, Article.id)
    )


@dataclass(frozen=True)
class Search:
    """A search as the page runs it: the SELECT to paginate (None: nothing to look for), the
    words, and how they were matched ("all", "any", or "list" when only a filter was given)."""

    query: object
    words: list
    mode: str


def search(viewer, q, *, category_id=None, tag=None):
    """The articles `viewer` may read that match `q` (and the category and tag filters), best first.
    Every word must match; if no article has them all, those with any of them (mode "any")."""
    condition = policy.kb_reading_condition(viewer)
    if category_id:
        condition = condition & (Article.category_id == category_id)
    if tag:
        condition = condition & Article.id.in_(select(ArticleTag.article_id).where(ArticleTag.name == tag))
    found = words(q)
    if not found:
        if (q or "").strip() or not (category_id or tag):
            return Search(None, [], "none")
        return Search(
            select(Article).where(condition).order_by(func.lower(Article.title), Article.id), [], "list"
        )
    everything = _ranked(condition, found, any_word=False)
    if len(found) == 1 or db.session.scalar(everything.with_only_columns(Article.id).limit(1)) is not None:
        return Search(everything, found, "all")
    return Search(_ranked(condition, found, any_word=True), found, "any")


def editable(actor, q, *, status=None, category_id=None):
    """A SELECT of the articles `actor` may edit (policy.kb_editing_condition), optionally of one
    status and category, matching every word of `q` best first, else the latest changed first."""
    condition = policy.kb_editing_condition(actor)
    if status:
        condition = condition & (Article.status == status)
    if category_id:
        condition = condition & (Article.category_id == category_id)
    found = words(q)
    if found:
        return _ranked(condition, found, any_word=False)
    return select(Article).where(condition).order_by(Article.updated_at.desc(), Article.id.desc())


def first_results(query, limit):
    """The first `limit` articles of a search's SELECT ([] when there was nothing to look for)."""
    return db.session.scalars(query.limit(limit)).all() if query is not None else []


def suggestions(viewer, text, *, category_id=None, limit=SUGGESTIONS):
    """At most `limit` articles `viewer` may read for a subject being typed, best first (those of
    the chosen category first among equals). Any word may match, but an article must match one
    in its title or tags, or two words anywhere: "VPN drops every 10 minutes" should not suggest
    every article that says "minutes"."""
    found = suggestion_words(text)
    if not found:
        return []
    query = _ranked(policy.kb_reading_condition(viewer), found, any_word=True, prefer_category=category_id)
    candidates = db.session.scalars(query.limit(limit * 4)).all()
    return [a for a in candidates if _relevant(a, found)][:limit]


def _word_list(text):
    """The sorted distinct words of `text`, folded as the databases fold them."""
    return sorted(
        {"".join(c.lower() for c in w) for w in WORD.findall(unicodedata.normalize("NFC", text or ""))}
    )


def _prefixed(words, found):
    """The words of `found` that start some word of the sorted `words`."""
    hits = set()
    for prefix in found:
        i = bisect.bisect_left(words, prefix)
        if i < len(words) and words[i].startswith(prefix):
            hits.add(prefix)
    return hits


def _relevant(article, found):
    if len(found) == 1 or _prefixed(_word_list(f"{article.title} {article.tag_line}"), found):
        return True
    return len(_prefixed(_word_list(article.body), found)) >= 2


def related(viewer, article, limit=RELATED):
    """Up to `limit` other articles `viewer` may read: most shared tags first, then the article's
    category, newest first."""
    readable = policy.kb_reading_condition(viewer)
    ids = []
    if article.tag_names:
        shared = func.count(ArticleTag.id)
        rows = db.session.execute(
            select(ArticleTag.article_id, shared)
            .join(Article, Article.id == ArticleTag.article_id)
            .where(ArticleTag.name.in_(article.tag_names), Article.id != article.id, readable)
            .group_by(ArticleTag.article_id)
            .order_by(shared.desc(), ArticleTag.article_id)
            .limit(limit)
        ).all()
        ids = [row[0] for row in rows]
    if len(ids) < limit:
        ids += db.session.scalars(
            select(Article.id)
            .where(
                Article.category_id == article.category_id,
                Article.id != article.id,
                Article.id.not_in(ids or [0]),
                readable,
            )
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(limit - len(ids))
        ).all()
    by_id = {a.id: a for a in db.session.scalars(select(Article).where(Article.id.in_(ids or [0])))}
    return [by_id[i] for i in ids if i in by_id]


# ---------------------------------------------------------------------------------------------
# Text for result lists: the article's words without Markdown, and a snippet around a match.

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BLOCK_MARKS = re.compile(r"(^|\s)(#{1,6}|>|[-*+]|\d+\.)\s+|^[-*_]{3,}$", re.MULTILINE)
_INLINE_MARKS = re.compile(r"(?<![^\W_])[*_`~]+|[*_`~]+(?![^\W_])")  # not inside a word: snake_case stays


def plain_text(markdown_text):
    """The article's words as plain text: links become their text, Markdown marks go."""
    text = _LINK.sub(r"\1", markdown_text or "")
    text = _INLINE_MARKS.sub("", _BLOCK_MARKS.sub(" ", text).replace("|", " "))
    return " ".join(text.split())


def summary(markdown_text, length=160):
    """The first `length` characters of the plain text, cut at a word (a page's description)."""
    text = plain_text(markdown_text)
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0] + "…"


def snippet(markdown_text, found, length=220):
    """Safe HTML: about `length` characters of the text around the first word of `found`, each
    match of a word's prefix marked with <mark>."""
    text = plain_text(markdown_text)
    if not found:
        return escape(summary(markdown_text, length))
    pattern = re.compile(r"(?<![^\W_])(" + "|".join(re.escape(w) for w in found) + r")", re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, (first.start() if first else 0) - length // 3)
    if start:
        start = text.find(" ", start) + 1 or start
    piece = text[start : start + length]
    parts, last = [], 0
    for match in pattern.finditer(piece):
        parts.append(escape(piece[last : match.start()]))
        parts.append(Markup("<mark>") + escape(match.group()) + Markup("</mark>"))
        last = match.end()
    parts.append(escape(piece[last:]))
    prefix = "…" if start else ""
    suffix = "…" if start + length < len(text) else ""
    return Markup(prefix) + Markup("").join(parts) + Markup(suffix)
