"""Ticket descriptions and messages keep their rendered HTML (migration 0037): written with the
text, shown by the pages instead of rendering every message on every view, filled in for older
rows by `flask tickets render-bodies`."""

from sqlalchemy import select, update

from helpdesk.extensions import db
from helpdesk.rendering import render_user_text
from helpdesk.tickets.models import Message, Ticket

from .agent_support import fresh


def _stored(model, row_id):
    return db.session.scalar(select(model.body_html).where(model.id == row_id))


def _forget(model, row_id, html=None):
    """What a row written before 0037 holds (NULL), or a marker standing for its stored HTML."""
    db.session.execute(update(model).where(model.id == row_id).values(body_html=html))
    db.session.commit()


def test_a_reply_and_a_note_keep_the_html_they_were_written_with(client, login, desk):
    login(desk.tech_it)
    url = f"/agent/tickets/{desk.it_ticket.id}/reply"
    client.post(url, data={"reply-body": "Try **safe mode** <script>x()</script>", "reply-action": "reply"})
    client.post(url, data={"reply-body": "Ask @someone about `fw`", "reply-action": "note"})
    reply, note = db.session.scalars(select(Message).order_by(Message.id)).all()
    assert reply.body_html == str(render_user_text(reply.body))
    assert "<strong>safe mode</strong>" in reply.body_html and "<script>" not in reply.body_html
    assert note.body_html == str(render_user_text(note.body)) and "<code>fw</code>" in note.body_html
    assert _stored(Ticket, desk.it_ticket.id) == str(render_user_text(fresh(desk.it_ticket.id).body))


def test_a_changed_text_gets_its_html_again(desk, make):
    message = make.message(desk.it_ticket, desk.requester, body="first *try*")
    assert "<em>try</em>" in message.body_html
    message.body = "second **try**"
    db.session.flush()
    assert "<strong>try</strong>" in message.body_html and "<em>" not in message.body_html


def test_the_ticket_pages_show_the_stored_html_and_render_rows_without_it(client, login, desk, make):
    message = make.message(desk.it_ticket, desk.requester, body="The *printer* jams")
    note = make.message(desk.it_ticket, desk.tech_it, body="Ask @bob about it", internal=True)
    # Markers stand for the stored HTML: a page that rendered the text again would not show them.
    _forget(Ticket, desk.it_ticket.id, "<p>stored description</p>")
    _forget(Message, message.id, "<p>stored reply</p>")
    _forget(Message, note.id, "<p>stored note for @bob</p>")
    login(desk.tech_it)
    html = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert "<p>stored description</p>" in html and "<p>stored reply</p>" in html
    assert '<p>stored note for <mark class="mention">@bob</mark></p>' in html  # mentions still marked
    assert "<em>printer</em>" not in html

    _forget(Message, message.id)  # a row from before 0037: rendered on view as before
    html = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert "The <em>printer</em> jams" in html

    login(desk.requester)
    html = client.get(f"/portal/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert "<p>stored description</p>" in html and "The <em>printer</em> jams" in html
    assert "stored note" not in html  # the customer never sees notes


def test_render_bodies_fills_in_the_missing_html_and_all_of_it_on_request(app, desk, make):
    message = make.message(desk.it_ticket, desk.requester, body="**bold** move")
    _forget(Message, message.id)
    _forget(Ticket, desk.it_ticket.id, "<p>from an older Markdown</p>")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tickets", "render-bodies"])
    assert result.exit_code == 0, result.output
    assert "Rendered 0 ticket description(s) and 1 message(s)." in result.output
    assert _stored(Message, message.id) == "<p><strong>bold</strong> move</p>"
    assert _stored(Ticket, desk.it_ticket.id) == "<p>from an older Markdown</p>"  # kept: not missing

    result = runner.invoke(args=["tickets", "render-bodies", "--all"])
    assert result.exit_code == 0, result.output
    tickets = db.session.scalar(select(db.func.count(Ticket.id)))
    messages = db.session.scalar(select(db.func.count(Message.id)))
    assert f"Rendered {tickets} ticket description(s) and {messages} message(s)." in result.output
    assert _stored(Ticket, desk.it_ticket.id) == str(render_user_text(fresh(desk.it_ticket.id).body))
