"""The queue's 30-second refresh (issue 16 item 6): static/live.js asks for the queue's table as
htmx would, with the ETag of the table it shows; an unchanged queue answers 304 with no body and
renders nothing, a changed one the new rows."""

from flask import template_rendered

from helpdesk.extensions import db
from helpdesk.tickets import editing

from .agent_support import HTMX

QUEUE = "/agent/?status=all"


def poll(client, etag=None):
    headers = {**HTMX, **({"If-None-Match": etag} if etag else {})}
    return client.get(QUEUE, headers=headers)


def test_the_queue_page_loads_the_refresh_script(client, login, desk):
    login(desk.tech_it)
    html = client.get(QUEUE).get_data(as_text=True)
    assert '<script src="/static/live.js' in html
    assert 'id="queue-table"' in html


def test_an_unchanged_queue_answers_304_with_no_body_and_renders_nothing(client, login, desk):
    login(desk.tech_it)
    first = poll(client)
    assert first.status_code == 200 and "<html" not in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    rendered = []
    template_rendered.connect(lambda *a, **k: rendered.append(1), client.application)
    try:
        again = poll(client, etag)
    finally:
        template_rendered.receivers.clear()
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert rendered == []


def test_a_note_by_someone_else_answers_200_with_the_changed_row(client, login, desk, make):
    login(desk.tech_it)
    etag = poll(client).headers["ETag"]
    editing.reply(desk.it_ticket, desk.admin, "Checked the logs", mode="note")
    db.session.commit()
    answer = poll(client, etag)
    assert answer.status_code == 200 and answer.headers["ETag"] != etag
    assert "VPN drops" in answer.get_data(as_text=True)
    assert poll(client, answer.headers["ETag"]).status_code == 304


def test_a_new_ticket_appears_in_the_refreshed_rows(client, login, desk, make):
    login(desk.tech_it)
    etag = poll(client).headers["ETag"]
    make.ticket(subject="Printer on fire", requester=desk.customer, category=desk.it)
    db.session.commit()
    answer = poll(client, etag)
    assert answer.status_code == 200 and "Printer on fire" in answer.get_data(as_text=True)
