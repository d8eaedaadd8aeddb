"""@mentions in internal notes: the syntax, who a mention names, and how a note shows them.

Syntax: `@` and the part of the agent's e-mail address before the `@` (`@ivan` for
ivan@example.com), case-insensitive; when two active agents share that part, only the whole
address names one (`@ivan@example.com`), and the short form names nobody. The address is unique,
so a mention never names two people. A mention starts the text or follows a space or punctuation
(never a letter: `bob@example.com` in a note is an address, not a mention).

Only active agents are ever named (never a customer or a subscriber), and the notice goes only to
those the policy lets see the ticket (notices.service.notify checks it).
"""

import re
from html import unescape

from markupsafe import Markup
from sqlalchemy import select

from helpdesk import policy
from helpdesk.accounts.models import ACTIVE_AGENT, User
from helpdesk.extensions import db
from helpdesk.rendering import user_html

MENTION = re.compile(
    r"(?<![\w@.+-])@([A-Za-z0-9](?:[A-Za-z0-9._+-]*[A-Za-z0-9])?(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)"
)
MAX_MENTIONS = 20  # a note naming more is not a conversation any more: the first 20 count


def handles(text, stored=None):
    """The distinct mentions in `text`, lower-cased, in order of appearance: those its note shows
    marked (render_note), outside code and links. A log pasted in a code block ("user @ivan
    logged in") or a link's text names nobody: the note shows no mention there, and telling
    Ivan of it surprised both him and the author. `stored`: the text's stored HTML, if any."""
    if "@" not in (text or ""):
        return []
    found = []
    for piece, markable in _pieces(user_html(text, stored)):
        if not markable:
            continue
        for match in MENTION.finditer(unescape(piece)):
            handle = match.group(1).lower()
            if handle not in found:
                found.append(handle)
    return found[:MAX_MENTIONS]


def handle_of(user):
    """The short mention of an agent: their address up to the `@`."""
    return user.email.split("@", 1)[0].lower()


def mention_of(user):
    """How to mention `user`: the short form, or the whole address when another active agent
    shares the short one."""
    short = handle_of(user)
    agents = db.session.scalars(select(User.email).where(ACTIVE_AGENT)).all()
    shared = sum(1 for email in agents if email.split("@", 1)[0].lower() == short) > 1
    return "@" + (user.email.lower() if shared else short)


def _resolved(text, stored=None):
    """[(handle, the active agent it names or None)] for the mentions in `text`, in order (one
    query, only when there is a mention)."""
    wanted = handles(text, stored)
    if not wanted:
        return []
    agents = db.session.scalars(select(User).where(ACTIVE_AGENT).order_by(User.id)).all()
    by_address = {agent.email.lower(): agent for agent in agents}
    by_handle = {}
    for agent in agents:
        by_handle.setdefault(handle_of(agent), []).append(agent)
    found = []
    for handle in wanted:
        if "@" in handle:
            agent = by_address.get(handle)
        else:
            same = by_handle.get(handle, [])
            agent = same[0] if len(same) == 1 else None  # shared: only the whole address names one
        found.append((handle, agent))
    return found


def mentioned_agents(text, stored=None):
    """The active agents the mentions in `text` name (`stored`: its stored HTML, if any)."""
    named = []
    for _handle, agent in _resolved(text, stored):
        if agent is not None and agent not in named:
            named.append(agent)
    return named


def outcome_text(text, ticket, author):
    """What the author of a note is told about its mentions, or "" when it has none: who was
    notified, and each mention that notified nobody, with why (no agent by that name, or an agent
    who may not see the ticket: notices.service.notify skips them)."""
    notified, missed = [], []
    for handle, agent in _resolved(text):
        if agent is None:
            missed.append(f"@{handle} (no agent by that name)")
        elif author is not None and agent.id == author.id:
            continue
        elif not policy.can_view_ticket(agent, ticket):
            missed.append(f"@{handle} (may not see this ticket)")
        elif agent.name not in notified:
            notified.append(agent.name)
    parts = []
    if notified:
        parts.append(f"Notified: {', '.join(notified)}.")
    if missed:
        parts.append(f"Not notified: {', '.join(missed)}.")
    return " ".join(parts)


_TAG = re.compile(r"(<[^>]*>)")
_NO_MARK = ("a", "code", "pre")  # a link's text and code stay as written


def _pieces(html):
    """The tags and texts of sanitised HTML in order, each with whether it may hold a mention:
    a text outside links and code."""
    depth = 0
    for piece in _TAG.split(str(html)):
        if piece.startswith("<"):
            name = piece.strip("</>").split()[0].lower() if piece.strip("</>") else ""
            if name in _NO_MARK:
                depth += -1 if piece.startswith("</") else 1
            yield piece, False
        else:
            yield piece, depth <= 0


def highlight(html):
    """Wrap the mentions of sanitised HTML (render_user_text's output) in <mark class="mention">,
    outside links and code. The text was escaped and sanitised first; a mention's characters
    (letters, digits, . _ + - @) need no escaping, so the result stays safe."""
    parts = []
    for piece, markable in _pieces(html):
        if markable and "@" in piece:
            parts.append(MENTION.sub(r'<mark class="mention">@\1</mark>', piece))
        else:
            parts.append(piece)
    return Markup("".join(parts))


def render_note(text, stored=None):
    """An internal note as HTML: user text rendered and sanitised (or its stored HTML:
    rendering.user_html), then its mentions marked."""
    return highlight(user_html(text, stored))
