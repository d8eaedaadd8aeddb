"""User text to safe HTML: Markdown rendered, then sanitised with nh3 (no scripts, no htmx attributes).

Headings fit the page they are shown in: a text's highest heading, whether its author wrote `#`
or `##`, becomes the level below the page's own (an h4 in a message, under the message's own h3
of its author and time, under the ticket page's "Conversation"; an h2 in a knowledge-base article,
whose title is the page's h1), and the others keep their distance from it, down to h6. (h1 and h2
were once simply not allowed: "## Setup" in an article showed as a plain paragraph.)"""

import threading

import markdown
import nh3
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

# The level of the highest heading in a ticket's description or message (3 before migration 0044).
MESSAGE_HEADINGS = 4
ARTICLE_HEADINGS = 2  # in a knowledge-base article
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

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
    "h2",
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


class _ShiftHeadings(Treeprocessor):
    def __init__(self, md, top):
        super().__init__(md)
        self.top = top

    def run(self, root):
        found = [element for element in root.iter() if element.tag in HEADINGS]
        if found:
            shift = self.top - min(int(element.tag[1]) for element in found)
            for element in found:
                element.tag = f"h{max(1, min(6, int(element.tag[1]) + shift))}"


class _Headings(markdown.extensions.Extension):
    """The text's highest heading at level `top`, the others as far below it as they were."""

    def __init__(self, top):
        super().__init__()
        self.top = top

    def extendMarkdown(self, md):
        md.treeprocessors.register(_ShiftHeadings(md, self.top), "shift_headings", 5)


_local = threading.local()


def _markdown(headings):
    """One Markdown converter per thread and heading level, reset between texts (building one
    costs more than converting)."""
    converters = getattr(_local, "converters", None)
    if converters is None:
        converters = _local.converters = {}
    converter = converters.get(headings)
    if converter is None:
        converter = converters[headings] = markdown.Markdown(
            extensions=[
                "fenced_code",
                "tables",
                "nl2br",
                _EscapeRawHtml(),
                _Headings(headings),
            ]
        )
    return converter.reset()


def render_user_text(text, headings=MESSAGE_HEADINGS):
    """Markdown to sanitised HTML; raw HTML in the source is escaped, never trusted. The text's
    highest heading becomes an h`headings`."""
    html = _markdown(headings).convert(text or "")
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


def user_html(text, stored=None, headings=MESSAGE_HEADINGS):
    """The safe HTML of user text: `stored` (stored_html of this very text, kept in the database
    when the text was written) if there is one, else rendered now. `stored` comes only from our
    own columns, which only stored_html writes."""
    return Markup(stored) if stored is not None else render_user_text(text, headings)


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
