"""URLs built without a url_for per link (web.fixed_url, url_prefix) are url_for's own, also under
a prefix (SCRIPT_NAME)."""

import pytest
from flask import url_for

from helpdesk import web

BASES = ("http://desk.example", "http://desk.example/help")


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
