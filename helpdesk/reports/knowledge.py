"""The knowledge-base report: deflections per category, the most read articles with their helpful
ratio, and the searches that found nothing (the articles to write next), over a period and for one
category or all the actor may report on (policy.can_report_on_category). Each table is also a CSV.

Deflections are defined and computed by kb/tracking.py (form_outcomes): a form is counted on the
day its last suggestion was opened; "pending" forms are still inside KB_DEFLECTION_MINUTES.
"""

from flask import current_app
from sqlalchemy import case, func, select

from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.kb import tracking
from helpdesk.kb.models import Article, Vote
from helpdesk.reports.metrics import Column, Table, in_range, report_categories

TABLES = ("deflections", "articles", "searches")
SHOWN = 20  # rows of a table on the page (the CSV has them all; a total row is always shown)


def _categories(actor, flt):
    return report_categories(actor, flt.category_id)


def _outcomes(actor, flt, now):
    ids = [c.id for c in _categories(actor, flt)]
    window = current_app.config["KB_DEFLECTION_MINUTES"]
    return tracking.form_outcomes(
        flt.start_at, flt.end_before, window_minutes=window, category_ids=ids, now=now
    )


def _rate(deflected, ticket):
    return round(100 * deflected / (deflected + ticket), 1) if deflected + ticket else None


def deflection_table(actor, flt, now=None):
    """Per category: forms from which a suggestion was opened, and how they ended."""
    outcomes = _outcomes(actor, flt, now or utcnow())
    table = Table(
        "deflections",
        "Deflections: suggested articles opened from the new-ticket form",
        [
            Column("Category", "text"),
            Column("Forms with a suggestion opened"),
            Column("Deflected (no ticket followed)"),
            Column("Ticket submitted anyway"),
            Column("Pending (window still open)"),
            Column("Deflection rate", "percent"),
        ],
    )
    totals = [0, 0, 0, 0]
    for category in _categories(actor, flt):
        mine = [o for o in outcomes if o.category_id == category.id]
        counts = [len(mine)] + [sum(1 for o in mine if o.state == s) for s in tracking.STATES]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        table.rows.append([category.name, *counts, _rate(counts[1], counts[2])])
    table.total = ["All", *totals, _rate(totals[1], totals[2])]
    return table


def article_table(actor, flt, now=None):
    """Articles read, voted on or credited with a deflection in the period, most read first."""
    categories = _categories(actor, flt)
    ids = [c.id for c in categories]
    views = tracking.views_per_article(flt.start, flt.end, ids)
    helpful = func.sum(case((Vote.helpful.is_(True), 1), else_=0))
    unhelpful = func.sum(case((Vote.helpful.is_(False), 1), else_=0))
    votes = {
        article_id: (int(yes or 0), int(no or 0))
        for article_id, yes, no in db.session.execute(
            select(Vote.article_id, helpful, unhelpful)
            .join(Article, Article.id == Vote.article_id)
            .where(in_range(Vote.updated_at, flt), Article.category_id.in_(ids or [0]))
            .group_by(Vote.article_id)
        )
    }
    deflections = {}
    for outcome in _outcomes(actor, flt, now or utcnow()):
        if outcome.state == tracking.DEFLECTED:
            deflections[outcome.article_id] = deflections.get(outcome.article_id, 0) + 1
    article_ids = set(views) | set(votes) | set(deflections)
    items = db.session.scalars(select(Article).where(Article.id.in_(article_ids or [0]))).all()
    table = Table(
        "articles",
        "Top articles",
        [
            Column("Article", "text"),
            Column("Category", "text"),
            Column("Views"),
            Column("Helpful"),
            Column("Not helpful"),
            Column("Helpful ratio", "percent"),
            Column("Deflections"),
        ],
    )
    rows = []
    for item in items:
        yes, no = votes.get(item.id, (0, 0))
        ratio = round(100 * yes / (yes + no), 1) if yes + no else None
        rows.append(
            [
                item.title,
                item.category.name,
                views.get(item.id, 0),
                yes,
                no,
                ratio,
                deflections.get(item.id, 0),
            ]
        )
    table.rows = sorted(rows, key=lambda r: (-r[2], -r[6], -r[3], r[0].lower()))
    return table


def search_table(actor, flt, now=None):
    """Searches that found nothing, most frequent first: in all categories, or in one the actor reports on."""
    scopes = [c.id for c in _categories(actor, flt)]
    if flt.category_id is None:
        scopes.append(0)
    searches, empty = tracking.search_totals(flt.start, flt.end, scopes)
    table = Table(
        "searches",
        "Searches with no results",
        [Column("Search", "text"), Column("Times"), Column("Last searched", "date")],
    )
    table.note = f"{empty} of {searches} searches found nothing: the articles to write next."
    table.rows = [
        [query, count, last.date()]
        for query, count, last in tracking.unanswered_searches(flt.start, flt.end, scopes)
    ]
    return table


BUILDERS = {"deflections": deflection_table, "articles": article_table, "searches": search_table}


def build_table(actor, flt, name, now=None):
    return BUILDERS[name](actor, flt, now)


def build_report(actor, flt, now=None):
    """Every table of the knowledge-base report, by name."""
    now = now or utcnow()
    return {name: build_table(actor, flt, name, now) for name in TABLES}
