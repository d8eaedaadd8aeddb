"""Addresses of knowledge-base pages for views and templates (category slugs looked up once per request)."""

import re

from flask import has_request_context, request, url_for

from helpdesk.kb import reading

# Query parameters an article's address keeps when it redirects to its current address.
KEPT_PARAMETERS = ("ref", "form", "feedback")


def _slugs():
    if not has_request_context():
        return reading.category_slugs()
    if not hasattr(request, "_kb_category_slugs"):
        request._kb_category_slugs = reading.category_slugs()
    return request._kb_category_slugs


def category_slug(category_id):
    return _slugs().get(category_id, "category")


# A slug as kb/slugs.py writes them: nothing in it is quoted in an address.
_PLAIN_SLUG = re.compile(r"[a-z0-9-]+")
_MARK = "kb-slug-mark"


def _article_address_form(external):
    """(start, end) of an article's address (`external`: with scheme and host) around
    "<category slug>/<article slug>", built by url_for once per request (a result list writes 25
    of them, the sitemap thousands)."""
    forms = getattr(request, "_kb_article_address", None)
    if forms is None:
        forms = request._kb_article_address = {}
    if external not in forms:
        built = url_for("kb.article", category_slug=_MARK, slug=_MARK, _external=external)
        start, _middle, end = built.split(_MARK)
        forms[external] = (start, end)
    return forms[external]


def article_url(article, **params):
    """/kb/<category slug>/<article slug>, with `params` as the query string (`_external=True`:
    the full address, as url_for writes it). `article` needs only its category_id and slug."""
    category = category_slug(article.category_id)
    external = params == {"_external": True}
    if (
        (params and not external)
        or not has_request_context()
        or not (_PLAIN_SLUG.fullmatch(article.slug) and _PLAIN_SLUG.fullmatch(category))
    ):
        return article_page_url("kb.article", article, **params)
    start, end = _article_address_form(external)
    return f"{start}{category}/{article.slug}{end}"


def article_page_url(endpoint, article, **params):
    """An address under the article's own (its feedback forms, its files)."""
    return url_for(endpoint, category_slug=category_slug(article.category_id), slug=article.slug, **params)


def category_url(category, **params):
    return url_for("kb.category", category_slug=category_slug(category.id), **params)


def file_url(article, item, **params):
    return article_page_url("kb.file", article, file_id=item.id, filename=item.filename, **params)


def kept_parameters(args):
    """The query parameters worth keeping across a redirect to the article's current address."""
    return {name: args[name][:100] for name in KEPT_PARAMETERS if args.get(name)}


_LINK_TEXT_SPECIALS = re.compile(r"([\\\[\]])")


def markdown_link(title, url):
    """`[title](url)`, the Markdown link "Insert link" puts in a reply: brackets and backslashes of
    the title escaped, so a title such as "Error [42" stays the link's text instead of breaking it."""
    text = _LINK_TEXT_SPECIALS.sub(r"\\\1", title)
    return f"[{text}]({url})"
