"""What the knowledge-base reports count: views per article and day, suggestions opened from the
new-ticket form, searches (and those that found nothing); and what a deflection is.

**A deflection** is a ticket the customer did not have to open. Precisely: a signed-in customer
typing a subject on the new-ticket form is shown suggestions; they open one (its link carries
the form's submission key, signed for that customer when the form was handed out, recorded here
once per form and article: a key the server did not hand out counts nothing); and then no ticket is
submitted by that customer (from that form or any other, on any channel) from the first
article they opened from that form until KB_DEFLECTION_MINUTES (default 60) after the last. One
form counts once however many suggestions were opened, credited to the last article opened (and
its category), on the day it was opened. The report computes it from these rows and the tickets
table when it is asked (form_outcomes); no timer runs: a form whose window is still open is
"pending", and a ticket submitted within it means "ticket anyway".

Views and searches are counted in batches (kb/counts.py); suggestion clicks, which deflections
are made of, are written at once.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.kb.models import Article, ArticleDay, SearchCount, SuggestionClick
from helpdesk.querying import upsert_insert
from helpdesk.tickets.models import Ticket

FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")  # the shape of a new-ticket form's submission key
DEFLECTED, TICKET, PENDING = "deflected", "ticket", "pending"
STATES = (DEFLECTED, TICKET, PENDING)


def _is_customer(viewer):
    return bool(viewer and viewer.is_authenticated and viewer.active and not viewer.is_agent)


def _signer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="kb-suggestion-form")


def form_token(user, form_key):
    """What the new-ticket form hands its suggestions, and they their links: `user`'s form key,
    signed. None for a key of another shape, or no signed-in user."""
    if not (user and user.is_authenticated and FORM_KEY.match(form_key or "")):
        return None
    return _signer().dumps([user.id, form_key])


def form_key_of(token, viewer):
    """The form key `token` was handed out for, when it is genuine and `viewer`'s; else None."""
    try:
        user_id, form_key = _signer().loads(token or "")
    except (BadSignature, ValueError, TypeError):
        return None
    if not viewer or getattr(viewer, "id", None) != user_id or not FORM_KEY.match(str(form_key)):
        return None
    return form_key


def record_suggestion_click(article, viewer, token):
    """Remember that `viewer` opened `article` from the suggestions beside a new-ticket form,
    named by `token` (form_token): once per form and article, a replay changes nothing. Only
    signed-in customers count (the form is theirs); a token the server did not sign for this
    viewer is ignored. True when recorded (or already)."""
    form_key = form_key_of(token, viewer)
    if not _is_customer(viewer) or form_key is None:
        return False
    table = SuggestionClick.__table__
    statement = (
        upsert_insert(db.session.get_bind().dialect.name)(table)
        .values(article_id=article.id, user_id=viewer.id, form_key=form_key, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[table.c.user_id, table.c.form_key, table.c.article_id])
    )
    db.session.execute(statement)
    return True


@dataclass(frozen=True)
class FormOutcome:
    """One new-ticket form from which suggestions were opened, and what came of it."""

    user_id: int
    form_key: str
    first_at: object
    last_at: object
    article_id: int  # the last article opened from the form
    category_id: int
    state: str  # DEFLECTED, TICKET or PENDING


def form_outcomes(start_at, end_before, *, window_minutes, category_ids=None, now=None):
    """Every form whose last suggestion was opened in [start_at, end_before) (optionally only
    those whose last article is in `category_ids`), with its outcome (see the module's doc)."""
    now = now or utcnow()
    window = timedelta(minutes=window_minutes)
    forms = (
        select(
            SuggestionClick.user_id,
            SuggestionClick.form_key,
            func.min(SuggestionClick.created_at).label("first_at"),
            func.max(SuggestionClick.created_at).label("last_at"),
            func.max(SuggestionClick.id).label("last_id"),
        )
        .group_by(SuggestionClick.user_id, SuggestionClick.form_key)
        .having(
            func.max(SuggestionClick.created_at) >= start_at,
            func.max(SuggestionClick.created_at) < end_before,
        )
        .subquery()
    )
    last_click = SuggestionClick.__table__.alias("last_click")
    query = (
        select(forms, Article.id, Article.category_id)
        .join(last_click, last_click.c.id == forms.c.last_id)
        .join(Article, Article.id == last_click.c.article_id)
    )
    if category_ids is not None:
        query = query.where(Article.category_id.in_(list(category_ids) or [0]))
    rows = db.session.execute(query).all()
    if not rows:
        return []
    submitted = _tickets_by_user({r.user_id for r in rows}, min(_aware(r.first_at) for r in rows), now)
    outcomes = []
    for row in rows:
        first_at, last_at = _aware(row.first_at), _aware(row.last_at)
        if any(first_at <= at <= last_at + window for at in submitted.get(row.user_id, ())):
            state = TICKET
        elif now < last_at + window:
            state = PENDING
        else:
            state = DEFLECTED
        outcomes.append(
            FormOutcome(row.user_id, row.form_key, first_at, last_at, row.id, row.category_id, state)
        )
    return outcomes


def _aware(value):
    """Aggregates (min/max) come back without the column type: as naive UTC, or text on SQLite."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _tickets_by_user(user_ids, since, until):
    """{user id: [creation times]} of the tickets these users opened between the two instants."""
    found = {}
    ids = sorted(user_ids)
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(Ticket.requester_id, Ticket.created_at).where(
                Ticket.requester_id.in_(ids[start : start + 500]),
                Ticket.created_at >= since,
                Ticket.created_at <= until,
            )
        )
        for user_id, created_at in rows:
            found.setdefault(user_id, []).append(created_at)
    return found


def views_per_article(start_day, end_day, category_ids=None):
    """{article id: views} between two UTC days (inclusive)."""
    query = (
        select(ArticleDay.article_id, func.sum(ArticleDay.views))
        .where(ArticleDay.day >= start_day, ArticleDay.day <= end_day)
        .group_by(ArticleDay.article_id)
    )
    if category_ids is not None:
        query = query.join(Article, Article.id == ArticleDay.article_id).where(
            Article.category_id.in_(list(category_ids) or [0])
        )
    return {article_id: int(views or 0) for article_id, views in db.session.execute(query)}


def unanswered_searches(start_day, end_day, category_scopes):
    """[(query, searches that found nothing, last searched)] between two UTC days (inclusive), for
    searches in these category scopes (0: all categories), most frequent first."""
    empty = func.sum(SearchCount.empty)
    rows = db.session.execute(
        select(SearchCount.query, empty, func.max(SearchCount.last_at))
        .where(
            SearchCount.day >= start_day,
            SearchCount.day <= end_day,
            SearchCount.category_scope.in_(list(category_scopes)),
        )
        .group_by(SearchCount.query)
        .having(empty > 0)
        .order_by(empty.desc(), SearchCount.query)
    ).all()
    return [(query, int(count), _aware(last)) for query, count, last in rows]


def search_totals(start_day, end_day, category_scopes):
    """(searches, searches that found nothing) between two UTC days, in these scopes."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(SearchCount.searches), 0), func.coalesce(func.sum(SearchCount.empty), 0)
        ).where(
            SearchCount.day >= start_day,
            SearchCount.day <= end_day,
            SearchCount.category_scope.in_(list(category_scopes)),
        )
    ).one()
    return int(row[0]), int(row[1])
