"""The branding on the web: the accent's stylesheet and the logo, both revalidated by ETag."""

import hashlib

from flask import Blueprint, abort, current_app, request, send_file

from helpdesk.branding import settings
from helpdesk.errors import NotFound, StorageError
from helpdesk.tickets import uploads

bp = Blueprint("branding", __name__)


def stylesheet_text(brand):
    """The CSS of the branding: the design tokens' accent (light and dark schemes) and the logo."""
    lines = []
    if brand.accent:
        lines += [
            f":root {{ --accent: {brand.accent}; --on-accent: #fff; }}",
            "@media (prefers-color-scheme: dark) {",
            f"  :root {{ --accent: {settings.dark_accent(brand.accent)}; --on-accent: {settings.DARK_ON_ACCENT}; }}",
            "}",
        ]
    if brand.logo_id:
        lines += [
            ".site-header .brand.brand-custom::before { content: none; }",
            ".site-header .brand-logo { width: 1.75rem; height: 1.75rem; object-fit: contain; }",
        ]
    return "/* The desk's branding (/admin/branding). */\n" + "\n".join(lines) + "\n"


def _revalidated(response, etag):
    """Kept by browsers and proxies, but asked again before every use (If-None-Match)."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, no-cache"
    response.revalidate = True  # signed-in requests too (web.security_headers)
    return response.make_conditional(request)


@bp.get("/branding.css")
def stylesheet():
    text = stylesheet_text(settings.read())
    response = current_app.response_class(text, mimetype="text/css")
    return _revalidated(response, hashlib.blake2b(text.encode(), digest_size=16).hexdigest())


@bp.get("/branding/logo/<int:logo_id>")
def logo(logo_id):
    """The uploaded logo while it is the current one (its URL changes with every new logo)."""
    item = settings.logo_file(logo_id)
    if item is None:
        abort(404)
    if request.if_none_match.contains(item.sha256):
        return _revalidated(current_app.response_class(status=304), item.sha256)
    try:
        stored = uploads.open_stored(item)
    except NotFound:
        abort(404)
    except StorageError:
        abort(503)
    response = send_file(stored.stream, mimetype=item.content_type, max_age=0)
    response.content_length = stored.size
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _revalidated(response, item.sha256)
