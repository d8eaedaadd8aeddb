"""Presence and reply drafts across two app servers (issue 19 item 5: no request-serving state on
one host): an agent's heartbeat on one server is seen by a colleague on the other, and a draft
saved through one server comes back in the reply box served by the other."""

import re

import pytest

from .test_many_servers import Browser, desk_database, servers  # noqa: F401  (fixtures)

pytestmark = pytest.mark.postgres_only


def text(answer):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.text))


def test_presence_and_drafts_are_shared_by_every_server(servers):  # noqa: F811
    a, b, _folders, _bucket, ids = servers
    ticket = f"/agent/tickets/{ids['ticket']}"
    tech = Browser().login(a, "ivan@example.com")
    admin = Browser().login(b, "ada@example.com")

    beat = tech.post(a, f"{ticket}/presence", {}, token_from=ticket)
    assert beat.status == 200 and "No other agent is on this ticket." in text(beat)
    saved = admin.post(b, f"{ticket}/draft", {"reply-body": "Checking the printer queue"}, token_from=ticket)
    assert saved.status == 200 and "Draft saved." in saved.text

    seen = tech.post(b, f"{ticket}/presence", {}, token_from=ticket)  # the balancer picked B this time
    assert "Also here:" in text(seen) and "is writing a reply" in text(seen)
    box = re.search(r'<textarea id="reply-body"[^>]*>\n(.*?)</textarea>', admin.get(a, ticket).text, re.S)
    assert box.group(1) == "Checking the printer queue"
