"""User text to safe HTML: Markdown rendered, then sanitised with nh3 (no scripts, no htmx attributes)."""

import threading

import markdown
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


class _EscapeRawHtml(markdown.extensions.Extension):
    """Treat raw HTML in user text as text: `<module>` in a traceback stays visible."""

    def extendMarkdown(self, md):
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


_local = threading.local()


def _markdown():
    """One Markdown converter per thread, reset between texts (building one costs more than converting)."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = markdown.Markdown(
            extensions=["fenced_code", "tables", "nl2br", _EscapeRawHtml()]
        )
    return converter.reset()


def render_user_text(text):
    """Markdown to sanitised HTML; raw HTML in the source is escaped, never trusted."""
    html = _markdown().convert(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)


def stored_html(text):
    """render_user_text's HTML as a plain string, to be kept with the text it was made from."""
    return str(render_user_text(text))


def user_html(text, stored=None):
    """The safe HTML of user text: `stored` (stored_html of this very text, kept in the database
    when the text was written) if there is one, else rendered now. `stored` comes only from our
    own columns, which only stored_html writes."""
    return Markup(stored) if stored is not None else render_user_text(text)


def sanitise_html(html):
    """Sanitise HTML from outside (e.g. e-mail bodies) to the same allowlist."""
    return Markup(
        nh3.clean(
            html or "",
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    )
