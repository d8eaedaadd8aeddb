"""Readers' pages of the knowledge base (/kb): home, categories, search, suggestions, sitemap.

Everyone the policy lets read sees the articles their visibility allows; visitors who are not
signed in read public articles when the desk allows it (KB_PUBLIC), and otherwise are asked to
log in. Pages a visitor may keep are `private, max-age=60` (they hold the visitor's own form
token, so never a shared cache); signed-in pages are `private, no-store` (web.py); the sitemap is
public for an hour.
"""

from flask import abort, current_app, make_response, redirect, render_template, request
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.extensions import db, login_manager
from helpdesk.formfields import parse_id
from helpdesk.htmx import render_page_or_block
from helpdesk.kb import counts, links, reading, search, tracking
from helpdesk.kb.blueprints import reader_bp as bp
from helpdesk.kb.forms import SearchArgs
from helpdesk.kb.models import Article
from helpdesk.tickets.search import wordless_query_hint
from helpdesk.web import page_number, paginate

VISITOR_SECONDS = 60
SITEMAP_SECONDS = 3600


def for_visitors(response, seconds=VISITOR_SECONDS):
    """Let a visitor's browser (only) keep the page a minute; signed-in pages stay no-store."""
    if not current_user.is_authenticated:
        response.headers["Cache-Control"] = f"private, max-age={seconds}"
        response.vary.add("Cookie")
    return response


def write_due_counts():
    """Write the batch of view and search counts when it is due (kb/counts.py); put it back when
    the write fails (a lost race on SQLite), for the next request to take along."""
    batch = counts.due()
    if batch is not None and not perform(counts.write, batch).ok:
        counts.give_back(batch)


def _reader_or_login():
    """None when the viewer may read the knowledge base; else the login redirect."""
    if policy.can_read_kb(current_user):
        return None
    return login_manager.unauthorized()


def _category_choices():
    return reading.categories_to_search(current_user)


@bp.get("/", endpoint="home")
def home():
    refused = _reader_or_login()
    if refused:
        return refused
    categories = reading.categories_with_articles(current_user)
    response = make_response(
        render_template(
            "kb/home.html",
            categories=categories,
            popular=reading.popular(current_user),
            args=SearchArgs({}),
            category_choices=[(c.id, c.name) for c, _n in categories],
        )
    )
    return for_visitors(response)


@bp.get("/search", endpoint="search")
def search_page():
    refused = _reader_or_login()
    if refused:
        return refused
    args = SearchArgs(request.args)
    found = search.search(current_user, args.q, category_id=args.category, tag=args.tag)
    page = search.page_of(found, args.page, current_app.config["PER_PAGE"])
    response = render_page_or_block(
        "kb/search.html",
        "results",
        args=args,
        found=found,
        page=page,
        hint=wordless_query_hint(args.q),
        category_choices=_category_choices(),
        snippet=search.snippet,
    )
    if found.words and args.page == 1:
        counts.count_search(found.words, args.category, bool(page.total), current_user)
    write_due_counts()
    return for_visitors(response)


@bp.get("/suggest", endpoint="suggest")
def suggest():
    """Up to five articles for the subject being typed on the new-ticket form (its htmx fragment;
    a plain page without htmx). Their links carry the form's signed key (`form`, handed out with
    the form), to count deflections; a key that is not this viewer's genuine one is left off."""
    text = (request.args.get("subject") or request.args.get("q") or "")[:200]
    token = request.args.get("form") or ""
    items = search.suggestions(current_user, text, category_id=parse_id(request.args.get("category")))
    response = render_page_or_block(
        "kb/suggestions.html",
        "suggestions",
        items=items,
        text=text,
        form_token=token if tracking.form_key_of(token, current_user) else None,
        summary=search.summary,
    )
    return for_visitors(response)


@bp.get("/<category_slug>/", endpoint="category")
def category(category_slug):
    refused = _reader_or_login()
    if refused:
        return refused
    item = reading.category_by_slug(category_slug)
    if item is None:
        moved = reading.category_moved(category_slug)  # renamed since: its address moved with it
        if moved is None:
            abort(404)
        return redirect(links.category_url(moved), 301)
    page = paginate(reading.category_articles(current_user, item))
    response = make_response(
        render_template(
            "kb/category.html",
            category=item,
            page=page,
            args=SearchArgs({"category": str(item.id)}),
            category_choices=_category_choices(),
            summary=search.summary,
        )
    )
    return for_visitors(response)


def _sitemap_size():
    return current_app.config.get("KB_SITEMAP_URLS", 50_000)


@bp.get("/sitemap.xml", endpoint="sitemap")
def sitemap():
    """The public articles (and the home and category pages) for search engines: one sitemap, or
    an index of sitemaps (`?page=n`) of KB_SITEMAP_URLS addresses each (the protocol's limit is
    50,000)."""
    if not policy.kb_public():
        abort(404)
    if "page" in request.args:
        number = page_number(request.args)
        if str(number) != request.args["page"]:
            abort(404)
        return _sitemap_page(number)
    total = db.session.scalar(reading.public_articles().with_only_columns(db.func.count()).order_by(None))
    if total > _sitemap_size():
        pages = (total + _sitemap_size() - 1) // _sitemap_size()
        return _xml(render_template("kb/sitemap_index.xml", pages=range(1, pages + 1)))
    return _sitemap_page(1)


def _sitemap_page(number):
    size = _sitemap_size()
    listed = reading.public_articles().with_only_columns(
        Article.id, Article.category_id, Article.slug, Article.updated_at
    )  # what an entry shows: thousands of whole articles (their text) were loaded for it
    articles = db.session.execute(listed.offset((number - 1) * size).limit(size)).all()
    if number > 1 and not articles:
        abort(404)
    categories = reading.public_categories() if number == 1 else []
    return _xml(render_template("kb/sitemap.xml", articles=articles, categories=categories, home=number == 1))


def _xml(body):
    response = make_response(body)
    response.mimetype = "application/xml"
    response.headers["Cache-Control"] = f"public, max-age={SITEMAP_SECONDS}"
    changed = reading.latest_public_change()
    if changed is not None:
        response.last_modified = changed
    return response.make_conditional(request)
