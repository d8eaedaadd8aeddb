"""Headings in user text fit the page they are shown in: an article's top heading is an h2 under
its title, a message's an h4 under the message's own h3 (its author and time) under the ticket
page's "Conversation", whether the author wrote `#` or `##`; deeper ones keep their distance; none
is dropped to a plain paragraph."""

import re

from helpdesk.extensions import db
from tests import kb_support as kb


def headings(html, within):
    """(level, text) of the headings inside the first element with class `within`."""
    start = html.index(f'class="{within}')
    part = html[start : html.index("</div>", start)]
    return re.findall(r"<h([1-6])>([^<]*)</h\1>", part)


def test_an_article_s_sections_are_h2_and_h3_under_its_title(client, desk):
    article = kb.write(
        desk.tech_it,
        desk.it,
        "Set up the VPN",
        body="Intro.\n\n## Before you start\n\nA laptop.\n\n### On Windows\n\nSteps.\n\n## If it drops\n\nCall.",
    )
    db.session.commit()
    html = client.get(kb.url(article)).get_data(as_text=True)
    assert '<h1 id="article-title" hx-disable>Set up the VPN</h1>' in html
    assert headings(html, "body kb-body") == [
        ("2", "Before you start"),
        ("3", "On Windows"),
        ("2", "If it drops"),
    ]


def outline(html):
    """(level, text) of every heading of the page's conversation section, tags inside removed."""
    start = html.index('aria-labelledby="conversation-heading"')
    part = html[start : html.index("</section>", start)]
    found = re.findall(r"<h([1-6])[^>]*>(.*?)</h\1>", part, re.S)
    return [(level, " ".join(re.sub(r"<[^>]+>", " ", text).split())) for level, text in found]


def test_a_message_s_headings_sit_under_its_own_heading(client, login, make, desk):
    """Each message of the conversation is headed (h3: author, badges, time), customers' pages
    and agents' alike, so a screen reader moves from message to message by heading; what its
    author wrote as headings sits below it."""
    make.message(desk.it_ticket, desk.tech_it, body="# Steps\n\n1. Restart.\n\n## If not\n\nCall us.")
    db.session.commit()
    for reader in (desk.tech_it, desk.requester):
        login(reader)
        html = client.get(
            f"/agent/tickets/{desk.it_ticket.id}"
            if reader.is_agent
            else f"/portal/tickets/{desk.it_ticket.id}"
        ).get_data(as_text=True)
        headings = outline(html)
        assert headings[0] == ("2", "Conversation")
        assert headings[1][0] == "3" and headings[1][1].startswith("Alice Archer ")  # the description
        assert headings[2][0] == "3" and headings[2][1].startswith("Ivan IT Support ")
        assert headings[3:] == [("4", "Steps"), ("5", "If not")]
        assert "<h1>Steps</h1>" not in html and "<p>Steps</p>" not in html
