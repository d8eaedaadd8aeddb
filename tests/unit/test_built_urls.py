"""URLs built without a url_for per link (web.fixed_url, url_prefix, quick_url) are url_for's own,
also under a prefix (SCRIPT_NAME)."""

import pytest
from flask import url_for

from helpdesk import web

BASES = ("http://desk.example", "http://desk.example/help")

QUICK = [  # (endpoint, values) as the pages pass them
    ("tickets_agent.reply", {"ticket_id": 7}),
    ("tickets_agent.edit", {"ticket_id": 100000, "field": "status"}),  # an any() converter
    ("tickets_agent.edit", {"ticket_id": 3, "field": "tags"}),
    ("tickets_agent.remove_subscriber", {"ticket_id": 12, "user_id": 7000000000000}),  # a stand-in's value
    ("credits_agent.log_time", {"ticket_id": 0}),
    ("credits_agent.edit_time", {"entry_id": 2**31 - 1}),
    ("tickets_agent.queue", {"page": 2, "sort": "due"}),  # not in the rule: the query string
    ("tickets_agent.queue", {"q": "printer offline"}),  # user text: url_for quotes it
    ("tickets_agent.queue", {"q": "a&b=c"}),
    ("tickets_agent.queue", {"q": "7000000000001"}),  # a text holding a stand-in
    ("kb.article", {"category_slug": "it", "slug": "vpn-drops"}),
]


@pytest.mark.parametrize("base", BASES)
def test_quick_url_is_url_for_twice_over(app, base):
    with app.test_request_context("/", base_url=base):
        for _ in range(2):  # the first call makes the pattern, the second fills it in
            for endpoint, values in QUICK:
                assert web.quick_url(endpoint, **values) == url_for(endpoint, **values), (endpoint, values)


def test_quick_url_makes_one_pattern_per_endpoint_and_words_and_at_most_so_many(app, monkeypatch):
    """Ids share their endpoint's pattern; each word makes one (words are meant to be the code's,
    a field's name); past QUICK_PATTERNS, and for values neither ids nor text, url_for."""
    monkeypatch.setattr(web, "QUICK_PATTERNS", 3)
    with app.test_request_context("/"):
        patterns = app.extensions.setdefault("helpdesk_fixed_urls", {})
        for key in [key for key in patterns if key[0] == "quick"]:
            del patterns[key]
        for ticket_id in range(50):
            web.quick_url("tickets_agent.reply", ticket_id=ticket_id)
        assert sum(key[0] == "quick" for key in patterns) == 1
        for n in range(10):
            word = f"word{n}"
            assert web.quick_url("tickets_agent.queue", q=word) == url_for("tickets_agent.queue", q=word)
        assert sum(key[0] == "quick" for key in patterns) == 3
        assert web.quick_url("tickets_agent.queue", q=["a", "b"]) == url_for(
            "tickets_agent.queue", q=["a", "b"]
        )
        assert web.quick_url("tickets_agent.reply", ticket_id=True) == url_for(
            "tickets_agent.reply", ticket_id=True
        )


@pytest.mark.parametrize("base", BASES)
def test_fixed_urls_are_url_fors(app, base):
    with app.test_request_context("/", base_url=base):
        assert web.fixed_url("tickets_agent.queue") == url_for("tickets_agent.queue")
        query = (("assignee", "me"), ("status", "waiting"))
        assert web.fixed_url("tickets_agent.queue", query=query) == url_for(
            "tickets_agent.queue", **dict(query)
        )
        assert web.url_prefix("tickets_agent.ticket", "ticket_id") + "42" == url_for(
            "tickets_agent.ticket", ticket_id=42
        )
