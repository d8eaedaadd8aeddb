"""Knowledge-base search, suggestions and related articles, on either database.

Words are read as tickets' are (tickets/search.py `terms`: letters and digits, case folded, at
most eight, never query syntax), less common English words ("how to reset my password" looks
for "reset password") unless nothing else is left. Each word matches as a word prefix in the
title, the tags or the text.

- The search box wants every word; when no article has them all, it offers those with some of
  them (as suggestions do), saying so. Results are ranked: a match in the title counts most, then
  the tags, then the text. SQLite ranks with bm25 (weights 10, 5, 1 for title, tags, text);
  PostgreSQL with ts_rank over the title and tags (A, B), then the newest (ranking each match's
  whole document cost more than the rest of a search). The same articles either way, a title
  match first either way. A page reads its ids and the number of matches in one statement
  (`count(*) OVER ()`), then its articles by id: the matches are read once, not once to count
  and once to rank.
- Suggestions (beside the new-ticket form's subject) take the words of at least two letters (a
  subject is a sentence, not a query) and want one of them in the title or tags, or two of them
  anywhere; one word alone may be anywhere. At most five, best first. The rule is part of the
  query (PostgreSQL: the title-and-tags vector's own index; FTS5: a `{title tag_line}` column
  filter), so only relevant articles are ever ranked. On PostgreSQL the two halves run one after
  the other (title or tags ranked first, then two words anywhere, newest first): each is one
  index scan, where their union joined every readable article.
- Related articles share tags with the article (most shared first), then its category.

Nothing here decides who may read what: every query is narrowed by policy.kb_reading_condition.
"""

import contextlib
import functools
import itertools
import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import case, func, literal, literal_column, select, text, union

from helpdesk import policy
from helpdesk.extensions import db
from helpdesk.kb.models import Article, ArticleTag
from helpdesk.kb.search_schema import FTS_TABLE, SEARCH_COLUMN, SQLITE_WEIGHTS, TITLE_COLUMN, fts_table
from helpdesk.tickets.search import prefix_fts5_match, prefix_tsquery, terms

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


SUGGESTION_WORDS = 6  # of a subject: its first six words say what it is about (and 15 pairs at most)


def suggestion_words(text):
    """The words of a subject worth suggesting on: no common words, at least two letters each,
    the first SUGGESTION_WORDS of them."""
    return [word for word in terms(text) if word not in STOP_WORDS and len(word) >= 2][:SUGGESTION_WORDS]


def _quoted_pg(word):
    return prefix_tsquery([word])  # 'word':*


def _quoted_fts5(word):
    return prefix_fts5_match([word])  # "word"*


def _pairs(found):
    return list(itertools.combinations(found, 2))


def _fts5_match(found, relevant):
    """FTS5 MATCH text for `found`: every word; or with `relevant`, any word in the title or tags
    (a column filter), or any two words anywhere (one word alone: anywhere)."""
    if not relevant:
        return prefix_fts5_match(found, " ")
    if len(found) == 1:
        return _quoted_fts5(found[0])
    return " OR ".join(
        [f"{{title tag_line}} : ({prefix_fts5_match(found, ' OR ')})"]
        + [f"({_quoted_fts5(a)} AND {_quoted_fts5(b)})" for a, b in _pairs(found)]
    )


def _tsquery(text):
    """A tsquery written into the SQL, not a parameter (as tickets/search.py does): the plan
    depends on the words."""
    return func.to_tsquery(literal_column("'simple'::regconfig"), literal(text, literal_execute=True))


def _postgresql(found, relevant):
    """(condition, ranking) on PostgreSQL for `found` (see _fts5_match): the title-and-tags vector
    answers "a word in the title or tags" from its own index. Ranked by the title and tags
    (ts_rank over that small vector: title A, tags B), then the newest: ranking every match by its
    whole document cost more than the rest of the search (bench/README.md), and the title is
    where an article says what it answers."""
    document = literal_column(f"{Article.__tablename__}.{SEARCH_COLUMN}")
    title = literal_column(f"{Article.__tablename__}.{TITLE_COLUMN}")
    any_word = _tsquery(prefix_tsquery(found, "|"))
    ranking = [func.ts_rank(title, any_word).desc(), Article.published_at.desc()]
    if not relevant or len(found) == 1:
        return document.bool_op("@@")(_tsquery(prefix_tsquery(found, "&"))), ranking
    in_title, in_pairs = _pg_relevant(found)
    # Two index scans, united: as one OR the planner misjudged how many rows prefixes match and
    # read every article's document instead (see _index_scans()).
    either = union(select(Article.id).where(in_title), select(Article.id).where(in_pairs))
    return Article.id.in_(either), ranking


def _pg_relevant(found):
    """The two halves of the "relevant" rule on PostgreSQL (several words): a word in the title or
    tags, and two words anywhere."""
    document = literal_column(f"{Article.__tablename__}.{SEARCH_COLUMN}")
    title = literal_column(f"{Article.__tablename__}.{TITLE_COLUMN}")
    any_word = _tsquery(prefix_tsquery(found, "|"))
    pairs = _tsquery(" | ".join(f"({_quoted_pg(a)} & {_quoted_pg(b)})" for a, b in _pairs(found)))
    return title.bool_op("@@")(any_word), document.bool_op("@@")(pairs)


def _pg_relevant_parts(condition, found, preferred):
    """The "relevant" results on PostgreSQL as two ordered SELECTs of ids whose concatenation is
    _ranked()'s order: the articles with a word in the title or tags, ranked (ts_rank of the
    title is above zero only for them), then those with two words anywhere and none in the
    title or tags, newest first (their rank is zero). Each half is one index scan of a few
    candidates; united, PostgreSQL joined every readable article to the union and ranked them
    all (bench/README.md)."""
    in_title, in_pairs = _pg_relevant(found)
    title = literal_column(f"{Article.__tablename__}.{TITLE_COLUMN}")
    any_word = _tsquery(prefix_tsquery(found, "|"))
    first = (
        select(Article.id)
        .where(in_title, condition)
        .order_by(func.ts_rank(title, any_word).desc(), Article.published_at.desc(), *preferred, Article.id)
    )
    then = (
        select(Article.id)
        .where(in_pairs, ~in_title, condition)
        .order_by(Article.published_at.desc(), *preferred, Article.id)
    )
    return [first, then]


@contextlib.contextmanager
def _index_scans(relevant):
    """PostgreSQL: no sequential scan for the "relevant" rule's query. Its planner estimates word
    prefixes on tsvectors roughly (several times too many rows), chose to read and test every
    article's document (40 ms at 10,000 articles) where the two GIN indexes give the few
    candidates (under 10 ms; bench/README.md). SET LOCAL, set back right after the query."""
    if not relevant or db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        yield
    finally:
        db.session.execute(text("SET LOCAL enable_seqscan = on"))


def _fts5_ids(found, relevant, *, scored):
    """A subquery of the matching article ids on SQLite, with their bm25 score when `scored`."""
    columns = [fts_table.c.rowid.label("article_id")]
    if scored:
        columns.append(func.bm25(literal_column(FTS_TABLE), *SQLITE_WEIGHTS).label("score"))
    match = literal(_fts5_match(found, relevant))
    return select(*columns).where(fts_table.c[FTS_TABLE].bool_op("MATCH")(match)).subquery()


def _ranked(condition, found, *, relevant=False, prefer_category=None):
    """A SELECT of the articles under `condition` matching `found` (see _fts5_match), best first
    (among equals, those of `prefer_category` first)."""
    preferred = [case((Article.category_id == prefer_category, 0), else_=1)] if prefer_category else []
    if db.session.get_bind().dialect.name == "postgresql":
        matches, ranking = _postgresql(found, relevant)
        return select(Article).where(matches, condition).order_by(*ranking, *preferred, Article.id)
    scored = _fts5_ids(found, relevant, scored=True)
    return (
        select(Article)
        .join(scored, scored.c.article_id == Article.id)
        .where(condition)
        .order_by(scored.c.score, *preferred, Article.id)
    )


def _counted(condition, found, *, relevant=False):
    """A SELECT of how many articles _ranked() finds, without ranking them."""
    if db.session.get_bind().dialect.name == "postgresql":
        matches, _ranking = _postgresql(found, relevant)
        return select(func.count(Article.id)).where(matches, condition)
    ids = _fts5_ids(found, relevant, scored=False)
    return select(func.count(Article.id)).join(ids, ids.c.article_id == Article.id).where(condition)


@dataclass(frozen=True)
class Search:
    """A search as the page runs it: the SELECT to page through (None: nothing to look for), a
    SELECT of its size, the words, and how they were matched: "all" of them, "some" of them (no
    article had them all), or "list" (only a category or tag was given)."""

    query: object
    count: object
    words: list
    mode: str
    parts: tuple = ()  # SELECTs of ids whose results, one after the other, are `query`'s (paging)


def search(viewer, q, *, category_id=None, tag=None):
    """The articles `viewer` may read that match `q` (and the category and tag filters), best first.
    Every word must match; if no article has them all, those with some of them (as suggestions:
    a word in the title or tags, or two anywhere)."""
    condition = policy.kb_reading_condition(viewer)
    if category_id:
        condition = condition & (Article.category_id == category_id)
    if tag:
        condition = condition & Article.id.in_(select(ArticleTag.article_id).where(ArticleTag.name == tag))
    found = words(q)
    if not found:
        if (q or "").strip() or not (category_id or tag):
            return Search(None, None, [], "none")
        listed = select(Article).where(condition).order_by(func.lower(Article.title), Article.id)
        return Search(listed, select(func.count(Article.id)).where(condition), [], "list")
    counted = _counted(condition, found)
    if len(found) == 1:
        return Search(_ranked(condition, found), counted, found, "all")
    every_word = _id_parts(condition, found)
    if db.session.execute(every_word[0].order_by(None).limit(1)).first():
        return Search(_ranked(condition, found), counted, found, "all", parts=every_word)
    return Search(
        _ranked(condition, found, relevant=True),
        _counted(condition, found, relevant=True),
        found,
        "some",
        parts=_id_parts(condition, found, relevant=True),
    )


def _id_parts(condition, found, *, relevant=False, prefer_category=None):
    """SELECTs of article ids, best first, whose results one after the other are _ranked()'s: on
    PostgreSQL with the "relevant" rule and several words its two halves, otherwise _ranked()
    itself reduced to the ids."""
    preferred = [case((Article.category_id == prefer_category, 0), else_=1)] if prefer_category else []
    if relevant and len(found) > 1 and db.session.get_bind().dialect.name == "postgresql":
        return tuple(_pg_relevant_parts(condition, found, preferred))
    ranked = _ranked(condition, found, relevant=relevant, prefer_category=prefer_category)
    return (ranked.with_only_columns(Article.id, maintain_column_froms=True),)


@dataclass(frozen=True)
class Page:
    """One page of results, shaped like Flask-SQLAlchemy's pagination for the templates' macro."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self):
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def prev_num(self):
        return self.page - 1

    @property
    def next_num(self):
        return self.page + 1


def page_of(found, number, per_page):
    """Page `number` of a search's results: its rows and the total.

    A ranked search reads its matches once: the page's ids come with the number of matches
    (`count(*) OVER ()`, counted before LIMIT) in the same statement, instead of a count that
    matched every article a second time; the page's articles are then read by id. A list
    (category or tag, no words) pages through its SELECT and counts it."""
    if found.query is None:
        return None
    offset = (number - 1) * per_page
    if not found.words:
        total = db.session.scalar(found.count) or 0
        items = db.session.scalars(found.query.limit(per_page).offset(offset)).all()
        return Page(items=items, page=number, per_page=per_page, total=total)
    parts = found.parts or _id_parts_of(found)
    ids, total = [], 0
    with _index_scans(found.mode == "some"):
        for part in parts:
            wanted = per_page - len(ids)
            here = max(0, offset - total)
            if wanted:
                rows = db.session.execute(
                    part.add_columns(func.count().over().label("total")).limit(wanted).offset(here)
                ).all()
            else:
                rows = []
            if rows:
                ids.extend(row[0] for row in rows)
                total += rows[0][1]
            else:
                # nothing on this page from this part: how many it has, for the total and the
                # next part's offset
                total += db.session.scalar(select(func.count()).select_from(part.order_by(None).subquery()))
    return Page(items=_articles(ids), page=number, per_page=per_page, total=total)


def _id_parts_of(found):
    return (found.query.with_only_columns(Article.id, maintain_column_froms=True),)


def _articles(ids):
    """The articles of `ids`, in that order."""
    if not ids:
        return []
    by_id = {a.id: a for a in db.session.scalars(select(Article).where(Article.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


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
        return _ranked(condition, found)
    return select(Article).where(condition).order_by(Article.updated_at.desc(), Article.id.desc())


def first_results(found, limit):
    """The first `limit` articles a search found ([] when there was nothing to look for)."""
    if found.query is None:
        return []
    if not found.words:
        return db.session.scalars(found.query.limit(limit)).all()
    with _index_scans(found.mode == "some"):
        ids = _first_ids(found.parts or _id_parts_of(found), limit)
    return _articles(ids)


def _first_ids(parts, limit):
    """The first `limit` ids of `parts` taken one after the other (a part is read only if the
    ones before it had too few)."""
    ids = []
    for part in parts:
        if len(ids) >= limit:
            break
        ids.extend(db.session.scalars(part.limit(limit - len(ids))))
    return ids


def suggestions(viewer, text, *, category_id=None, limit=SUGGESTIONS):
    """At most `limit` articles `viewer` may read for a subject being typed, best first (those of
    the chosen category first among equals): an article with one of the words in its title or
    tags, or two of them anywhere ("VPN drops every 10 minutes" should not suggest every article
    that says "minutes")."""
    found = suggestion_words(text)
    if not found:
        return []
    parts = _id_parts(policy.kb_reading_condition(viewer), found, relevant=True, prefer_category=category_id)
    with _index_scans(True):
        ids = _first_ids(parts, limit)
    return _articles(ids)


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


@functools.lru_cache(maxsize=256)
def _highlighter(found):
    """A pattern matching any of the words `found` (a tuple) at the start of a word, ignoring case."""
    return re.compile(r"(?<![^\W_])(" + "|".join(re.escape(w) for w in found) + r")", re.IGNORECASE)


def snippet(markdown_text, found, length=220):
    """Safe HTML: about `length` characters of the text around the first word of `found`, each
    match of a word's prefix marked with <mark>. Only a window of the text around the first match
    is made plain (a result list shows 25 of these)."""
    if not found:
        return escape(summary(markdown_text, length))
    pattern = _highlighter(tuple(found))
    raw = markdown_text or ""
    first = pattern.search(raw)
    window_start = max(0, (first.start() if first else 0) - 2 * length)
    text = plain_text(raw[window_start : window_start + 5 * length])
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
    prefix = "…" if start or window_start else ""
    suffix = "…" if start + length < len(text) or window_start + 5 * length < len(raw) else ""
    return Markup(prefix) + Markup("").join(parts) + Markup(suffix)
