"""Knowledge-base search, suggestions and related articles, on either database.

Words are read as tickets' are (tickets/search.py `terms`: letters and digits, case folded, at
most eight, never query syntax), less common English words ("how to reset my password" looks
for "reset password") unless nothing else is left. Each word matches as a word prefix in the
title, the tags or the text.

- The search box wants every word; when no article has them all, it offers those with some of
  them (as suggestions do), saying so. Results are ranked: a match in the title counts most, then
  the tags, then the text ("some" of them: title or tags first, as suggestions). SQLite ranks
  with bm25 (weights 10, 5, 1 for title, tags, text);
  PostgreSQL with ts_rank over the title and tags (A, B), then the newest (ranking each match's
  whole document cost more than the rest of a search). The same articles either way, a title
  match first either way. A page reads its ids and the number of matches in one statement
  (`count(*) OVER ()`), then its articles by id: the matches are read once, not once to count
  and once to rank.
- Suggestions (beside the new-ticket form's subject) take the words of at least two letters (a
  subject is a sentence, not a query) and want one of them in the title or tags, or two of them
  anywhere; one word alone may be anywhere. At most five, best first. The rule is part of the
  query (PostgreSQL: the title-and-tags vector's own index; FTS5: a `{title tag_line}` column
  filter), so only relevant articles are ever ranked. The two halves run one after the other
  (title or tags ranked first, then two words anywhere: newest first on PostgreSQL, by bm25 on
  SQLite): on PostgreSQL each is one index scan, where their union joined every readable
  article; on SQLite each match is ranked against its half's words only, not against every pair.
- The statements are built once per process with parameters (kb_reading_condition_bound), and
  several words are first matched all together by the page's own query: when it finds nothing,
  the page is read again with some of them (no question asked first).
- Related articles share tags with the article (most shared first), then its category.

Nothing here decides who may read what: every query is narrowed by policy.kb_reading_condition.
"""

import contextlib
import functools
import itertools
import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import Integer, String, bindparam, case, func, literal, literal_column, select, text

from helpdesk import policy
from helpdesk.extensions import db
from helpdesk.kb.models import Article, ArticleTag
from helpdesk.kb.search_schema import (
    FTS_ACCESS_INDEX,
    FTS_TABLE,
    SEARCH_COLUMN,
    SQLITE_WEIGHTS,
    TITLE_COLUMN,
    fts_table,
)
from helpdesk.querying import indexed_by
from helpdesk.tickets.search import prefix_fts5_match, prefix_tsquery, terms
from helpdesk.web import Page

SUGGESTIONS = 5
RELATED = 5
STOP_WORDS = frozenset(
    "a an and are as at be been but by can could do does did for from has have how i if in into is "
    "it its me my no not of on or our so than that the their them then there these they this to too "
    "us was we were what when where which who why will with would you your".split()
)


def words(query):
    """The words a search looks for: `terms(query)` less common English words, unless only
    those were typed (then all of them), each as its singular (see singular)."""
    found = terms(query)
    kept = [word for word in found if word not in STOP_WORDS]
    return list(dict.fromkeys(singular(word) for word in (kept or found)))  # in order, once each


def singular(word):
    """An English plural as the prefix its singular starts with: "passwords" -> "password",
    "addresses" -> "address", "policies" -> "polic". Words are matched as prefixes, so the
    singular finds both forms ("passwords" found nothing in an article that says "password")."""
    if len(word) < 4 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


SUGGESTION_WORDS = 6  # of a subject: its first six words say what it is about (and 15 pairs at most)


def suggestion_words(text):
    """The words of a subject worth suggesting on: no common words, at least two letters each,
    the first SUGGESTION_WORDS of them."""
    kept = [singular(word) for word in terms(text) if word not in STOP_WORDS and len(word) >= 2]
    return list(dict.fromkeys(kept))[:SUGGESTION_WORDS]


def _quoted_pg(word):
    return prefix_tsquery([word])  # 'word':*


def _quoted_fts5(word):
    return prefix_fts5_match([word])  # "word"*


def _pairs(found):
    return list(itertools.combinations(found, 2))


def _fts5_title_match(found):
    """FTS5 MATCH text: any word of `found` in the title or tags (a column filter)."""
    return f"{{title tag_line}} : ({prefix_fts5_match(found, ' OR ')})"


def _fts5_pairs_match(found):
    """FTS5 MATCH text: any two words of `found` anywhere."""
    return " OR ".join(f"({_quoted_fts5(a)} AND {_quoted_fts5(b)})" for a, b in _pairs(found))


def _fts5_match(found, relevant):
    """FTS5 MATCH text for `found`: every word; or with `relevant`, any word in the title or tags
    (a column filter), or any two words anywhere (one word alone: anywhere)."""
    if not relevant:
        return prefix_fts5_match(found, " ")
    if len(found) == 1:
        return _quoted_fts5(found[0])
    return f"{_fts5_title_match(found)} OR {_fts5_pairs_match(found)}"


def _tsquery(text):
    """A tsquery written into the SQL, not a parameter (as tickets/search.py does): the plan
    depends on the words."""
    return func.to_tsquery(literal_column("'simple'::regconfig"), literal(text, literal_execute=True))


def _postgresql(found):
    """(condition, ranking) on PostgreSQL for every word of `found`. Ranked by the title and tags
    (ts_rank over that small vector: title A, tags B), then the newest: ranking every match by its
    whole document cost more than the rest of the search (bench/README.md), and the title is
    where an article says what it answers."""
    document = literal_column(f"{Article.__tablename__}.{SEARCH_COLUMN}")
    title = literal_column(f"{Article.__tablename__}.{TITLE_COLUMN}")
    any_word = _tsquery(prefix_tsquery(found, "|"))
    ranking = [func.ts_rank(title, any_word).desc(), Article.published_at.desc()]
    return document.bool_op("@@")(_tsquery(prefix_tsquery(found, "&"))), ranking


@contextlib.contextmanager
def index_scans(searching=True):
    """PostgreSQL: no sequential scan for the statements run inside, when `searching`. Its planner
    estimates word prefixes on tsvectors roughly (several times too many rows), and chose to read
    and test every article's long document (40 ms at 10,000 articles for the "relevant" rule's
    query; 25 ms for the editors' list searching "vpn", and 28 for its count) where the GIN
    indexes give the candidates (under 10 ms; bench/README.md). SET LOCAL, set back right after."""
    if not searching or db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        yield
    finally:
        db.session.execute(text("SET LOCAL enable_seqscan = on"))


def _ranked(condition, found):
    """A SELECT of the articles under `condition` matching every word of `found`, best first (the
    editors' list, `editable`; the readers' pages run _build_parts' statements)."""
    if db.session.get_bind().dialect.name == "postgresql":
        matches, ranking = _postgresql(found)
        return select(Article).where(matches, condition).order_by(*ranking, Article.id)
    scored = _fts5_scored(literal(_fts5_match(found, relevant=False))).subquery()
    return (
        select(Article)
        .join(scored, scored.c.article_id == Article.id)
        .where(condition)
        .order_by(scored.c.score, Article.id)
    )


def _fts5_scored(match):
    """The FTS5 rows matching `match` (article_id) with their bm25 score (score: lower is better)."""
    columns = [
        fts_table.c.rowid.label("article_id"),
        func.bm25(literal_column(FTS_TABLE), *SQLITE_WEIGHTS).label("score"),
    ]
    return select(*columns).where(fts_table.c[FTS_TABLE].bool_op("MATCH")(match))


def _fts5_not_in_title(title_match):
    in_title = select(fts_table.c.rowid).where(fts_table.c[FTS_TABLE].bool_op("MATCH")(title_match))
    return fts_table.c.rowid.not_in(in_title)


# --- Statements built once per process ------------------------------------------------------------
# A search's statements differ from one request to the next only in values: the words (FTS5's
# MATCH text, PostgreSQL's tsqueries), the viewer's visibilities, the filters. They are built once
# per shape, with those values as parameters (the tsqueries written into the SQL at execution,
# literal_execute: PostgreSQL's plan depends on the words), and reused: building and caching
# them again per request cost more than several of its queries.

_STATEMENTS = {}


def _dialect():
    return db.session.get_bind().dialect.name


def _statement(key, build):
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def _tsquery_parameter(name):
    return func.to_tsquery(
        literal_column("'simple'::regconfig"), bindparam(name, type_=String, literal_execute=True)
    )


@dataclass(frozen=True)
class _Shape:
    """What a search's id statements depend on besides values: the database, PostgreSQL's split of
    the "relevant" rule into two halves (several words), the filters, a preferred category."""

    dialect: str
    halves: bool = False
    category: bool = False
    tag: bool = False
    prefer: bool = False


def _bound_condition(shape):
    condition = policy.kb_reading_condition_bound()
    if shape.category:
        condition = condition & (Article.category_id == bindparam("category_id"))
    if shape.tag:
        tagged = select(ArticleTag.article_id).where(ArticleTag.name == bindparam("tag"))
        condition = condition & Article.id.in_(tagged)
    return condition


def _build_parts(shape):
    """The SELECTs of ids, best first, whose results one after the other are the search's, with
    parameters (see _values): on SQLite the FTS5 match ranked by bm25 (the "relevant" rule in two
    halves: a word in the title or tags, then two words anywhere); on PostgreSQL every word,
    ranked by the title and tags then the newest, or the "relevant" rule's two halves."""
    condition = _bound_condition(shape)
    preferred = [case((Article.category_id == bindparam("prefer"), 0), else_=1)] if shape.prefer else []
    if shape.dialect == "postgresql":
        document = literal_column(f"{Article.__tablename__}.{SEARCH_COLUMN}")
        title = literal_column(f"{Article.__tablename__}.{TITLE_COLUMN}")
        any_word = _tsquery_parameter("q_any")
        rank = func.ts_rank(title, any_word).desc()
        if not shape.halves:
            matches = document.bool_op("@@")(_tsquery_parameter("q_all"))
            ranking = (rank, Article.published_at.desc(), *preferred, Article.id)
            return (select(Article.id).where(matches, condition).order_by(*ranking),)
        in_title = title.bool_op("@@")(any_word)
        in_pairs = document.bool_op("@@")(_tsquery_parameter("q_pairs"))
        first = (
            select(Article.id)
            .where(in_title, condition)
            .order_by(rank, Article.published_at.desc(), *preferred, Article.id)
        )
        then = (
            select(Article.id)
            .where(in_pairs, ~in_title, condition)
            .order_by(Article.published_at.desc(), *preferred, Article.id)
        )
        return (first, then)
    if not shape.halves:
        return (_fts5_ids(_fts5_scored(bindparam("match", type_=String)).subquery(), condition, preferred),)
    title_match = bindparam("match_title", type_=String)
    first = _fts5_scored(title_match).subquery()
    then = (
        _fts5_scored(bindparam("match_pairs", type_=String)).where(_fts5_not_in_title(title_match)).subquery()
    )
    return tuple(_fts5_ids(scored, condition, preferred) for scored in (first, then))


def _fts5_ids(scored, condition, preferred):
    """The ids of the FTS5 rows `scored` whose articles meet `condition`, best first. Each match is
    joined to its article through FTS_ACCESS_INDEX (INDEXED BY), which holds every column the
    condition and the order read: a lookup in a small index, not in the table's long rows, and the
    same plan whatever SQLite's statistics say (without them it once chose to scan every readable
    article and look each up in the FTS table: 0.5 s at 10,000 articles)."""
    ids = (
        select(Article.id)
        .join(scored, scored.c.article_id == Article.id)
        .where(condition)
        .order_by(scored.c.score, *preferred, Article.id)
    )
    return indexed_by(ids, Article, FTS_ACCESS_INDEX)


def _paging(shape):
    """For each part: (its page of ids with the number of its matches, counted before LIMIT;
    its number of matches alone; its first ids)."""

    def build():
        paged = []
        for part in _build_parts(shape):
            page = part.add_columns(func.count().over().label("total"))
            paged.append(
                (
                    page.limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)),
                    select(func.count()).select_from(part.order_by(None).subquery()),
                    part.limit(bindparam("limit", type_=Integer)),
                )
            )
        return tuple(paged)

    return _statement(shape, build)


def _values(found, relevant, dialect):
    """The words' parameters of _build_parts' statements."""
    if dialect == "postgresql":
        values = {"q_any": prefix_tsquery(found, "|"), "q_all": prefix_tsquery(found, "&")}
        if relevant and len(found) > 1:
            values["q_pairs"] = " | ".join(f"({_quoted_pg(a)} & {_quoted_pg(b)})" for a, b in _pairs(found))
        return values
    if relevant and len(found) > 1:
        return {"match_title": _fts5_title_match(found), "match_pairs": _fts5_pairs_match(found)}
    return {"match": _fts5_match(found, relevant)}


@dataclass
class _Words:
    """One way of matching a search's words (every word, or "relevant"): its statements and their
    parameters."""

    paging: tuple
    values: dict
    relevant: bool

    @classmethod
    def of(cls, viewer, found, *, relevant, category_id=None, tag=None, prefer_category=None):
        dialect = _dialect()
        shape = _Shape(
            dialect,
            halves=relevant and len(found) > 1,
            category=bool(category_id),
            tag=bool(tag),
            prefer=bool(prefer_category),
        )
        values = policy.kb_reading_parameters(viewer) | _values(found, relevant, dialect)
        if category_id:
            values["category_id"] = category_id
        if tag:
            values["tag"] = tag
        if prefer_category:
            values["prefer"] = prefer_category
        return cls(_paging(shape), values, relevant)

    def page(self, offset, per_page):
        """(ids of the page, number of matches)."""
        ids, total = [], 0
        with index_scans(self.relevant):
            for paged, counted, _first in self.paging:
                wanted, here = per_page - len(ids), max(0, offset - total)
                rows = []
                if wanted:
                    rows = db.session.execute(paged, self.values | {"limit": wanted, "offset": here}).all()
                if rows:
                    ids.extend(row[0] for row in rows)
                    total += rows[0][1]
                elif not wanted or here:
                    # nothing on this page from this part: how many it has, for the total and the
                    # next part's offset (read from its first match on, it has none)
                    total += db.session.scalar(counted, self.values)
        return ids, total

    def first(self, limit):
        """The first `limit` ids (a part is read only if the ones before it had too few)."""
        ids = []
        with index_scans(self.relevant):
            for _paged, _counted, first in self.paging:
                if len(ids) >= limit:
                    break
                ids.extend(db.session.scalars(first, self.values | {"limit": limit - len(ids)}))
        return ids


class Search:
    """A search as the page runs it: the words, and how they were matched: "all" of them, "some"
    of them (no article had them all), "list" (only a category or tag was given) or "none"
    (nothing to look for). The pages read it through page_of() and first_results(), which run
    statements built once.

    Whether every word or only some are matched is known from the first read: when it finds no
    article with every word, the search becomes "some" (no separate query asks first)."""

    def __init__(self, words, mode, *, every=None, some=None, listed=None):
        self.words = words
        self._mode = mode  # None until known: "all" if an article has every word, else "some"
        self._every, self._some = every, some
        self._listed = listed

    @property
    def mode(self):
        if self._mode is None:
            self._mode = "all" if self._every.first(1) else "some"
        return self._mode

    def read(self, how, found_any):
        """`how(words)` (a _Words' page or first ids) with every word; when the mode is not known
        yet and that found nothing (`found_any` of the answer), with some of them."""
        if self._mode is None:
            answer = how(self._every)
            self._mode = "all" if found_any(answer) else "some"
            if self._mode == "all":
                return answer
        return how(self._some if self._mode == "some" else self._every)


def search(viewer, q, *, category_id=None, tag=None):
    """The articles `viewer` may read that match `q` (and the category and tag filters), best first.
    Every word must match; if no article has them all, those with some of them (as suggestions:
    a word in the title or tags, or two anywhere)."""

    found = words(q)
    if not found:
        if (q or "").strip() or not (category_id or tag):
            return Search([], "none")
        readable = policy.kb_reading_condition(viewer)
        if category_id:
            readable = readable & (Article.category_id == category_id)
        if tag:
            readable = readable & Article.id.in_(select(ArticleTag.article_id).where(ArticleTag.name == tag))
        listed = select(Article).where(readable).order_by(func.lower(Article.title), Article.id)
        return Search([], "list", listed=listed)
    every = _Words.of(viewer, found, relevant=False, category_id=category_id, tag=tag)
    if len(found) == 1:  # one word: "some" of them is all of them
        return Search(found, "all", every=every)
    some = _Words.of(viewer, found, relevant=True, category_id=category_id, tag=tag)
    return Search(found, None, every=every, some=some)


def page_of(found, number, per_page):
    """Page `number` of a search's results: its rows and the total.

    A ranked search reads its matches once: the page's ids come with the number of matches
    (`count(*) OVER ()`, counted before LIMIT) in the same statement, instead of a count that
    matched every article a second time; the page's articles are then read by id. Several words
    are first matched all together; when no article has them all, the same page is read again
    with some of them (the search's mode says which). A list (category or tag, no words) pages
    through its SELECT and counts it."""
    if found._mode == "none":
        return None
    offset = (number - 1) * per_page
    if found._mode == "list":
        total = db.session.scalar(select(func.count()).select_from(found._listed.order_by(None).subquery()))
        items = db.session.scalars(found._listed.limit(per_page).offset(offset)).all()
        return Page(items=items, page=number, per_page=per_page, total=total or 0)
    ids, total = found.read(lambda matcher: matcher.page(offset, per_page), lambda answer: answer[1])
    return Page(items=_articles(ids), page=number, per_page=per_page, total=total)


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
    if found._mode == "none":
        return []
    if found._mode == "list":
        return db.session.scalars(found._listed.limit(limit)).all()
    return _articles(found.read(lambda matcher: matcher.first(limit), bool))


def suggestions(viewer, text, *, category_id=None, limit=SUGGESTIONS):
    """At most `limit` articles `viewer` may read for a subject being typed, best first (those of
    the chosen category first among equals): an article with one of the words in its title or
    tags, or two of them anywhere ("VPN drops every 10 minutes" should not suggest every article
    that says "minutes")."""
    found = suggestion_words(text)
    if not found:
        return []
    return _articles(_Words.of(viewer, found, relevant=True, prefer_category=category_id).first(limit))


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
# Characters without which a pattern above cannot match: a text (most result windows) that has
# none of them skips it. A look for a character is a memchr; a pattern tries every position.
_BLOCK_CHARS = "#>-*+_0123456789"
_INLINE_CHARS = "*_`~"


def plain_text(markdown_text):
    """The article's words as plain text: links become their text, Markdown marks go."""
    text = markdown_text or ""
    if "](" in text:
        text = _LINK.sub(r"\1", text)
    if any(c in text for c in _BLOCK_CHARS):
        text = _BLOCK_MARKS.sub(" ", text)
    if "|" in text:
        text = text.replace("|", " ")
    if any(c in text for c in _INLINE_CHARS):
        text = _INLINE_MARKS.sub("", text)
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


def _first_match(text, found, pattern):
    """Where the first of the words `found` starts a word in `text` (0 when none does): as
    `pattern.search(text)`, by str.find in the lower-cased text (a pattern with a look-behind
    tries every position of a whole article; lower() and find() are a pass in C). A text whose
    lower case is not as long (a few Unicode letters) is searched with the pattern."""
    lowered = text.lower()
    if len(lowered) != len(text):
        match = pattern.search(text)
        return match.start() if match else 0
    best = -1
    for word in found:  # words are lower case already (terms())
        at = lowered.find(word)
        while at > 0 and lowered[at - 1].isalnum():
            at = lowered.find(word, at + 1)
        if at >= 0 and (best < 0 or at < best):
            best = at
    return max(best, 0)


def snippet(markdown_text, found, length=220):
    """Safe HTML: about `length` characters of the text around the first word of `found`, each
    match of a word's prefix marked with <mark>. Only a window of the text around the first match
    is made plain (a result list shows 25 of these)."""
    if not found:
        return escape(summary(markdown_text, length))
    words_found = tuple(found)
    pattern = _highlighter(words_found)
    raw = markdown_text or ""
    window_start = max(0, _first_match(raw, words_found, pattern) - 2 * length)
    text = plain_text(raw[window_start : window_start + 5 * length])
    start = max(0, _first_match(text, words_found, pattern) - length // 3)
    if start:
        start = text.find(" ", start) + 1 or start
    piece = text[start : start + length]
    parts = ["…" if start or window_start else ""]
    last = 0
    for match in pattern.finditer(piece):  # escaped pieces, joined as plain strings (then marked safe)
        parts += (str(escape(piece[last : match.start()])), "<mark>", str(escape(match.group())), "</mark>")
        last = match.end()
    parts.append(str(escape(piece[last:])))
    parts.append("…" if start + length < len(text) or window_start + 5 * length < len(raw) else "")
    return Markup("".join(parts))
