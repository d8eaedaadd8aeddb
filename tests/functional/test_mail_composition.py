"""Mail is stored by the request (template, values, row ids) and written out by the worker."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.credits import submission
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import compose as mail_compose
from helpdesk.mail import delivery as mail_delivery
from helpdesk.mail import notify
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets import lifecycle as tickets
from tests.mail_support import running_smtp_server


@pytest.fixture
def smtp_server(app, monkeypatch):
    with running_smtp_server(app, monkeypatch) as handler:
        yield handler


@pytest.fixture
def rendered_at_once(monkeypatch):
    """What each mail would have said had the request rendered it, with the live objects, when it
    was queued (as it did before the worker composed mail): {(to, template): (text, html)}."""
    seen = {}
    real_queue = notify.queue

    def queue(kind, *, to_addr, template, subject, ticket=None, **context):
        live = dict(context, subject=subject, ticket=ticket)
        live["reply_marker"] = mail_compose.REPLY_MARKER if ticket is not None else None
        seen[(to_addr, template)] = (
            mail_compose.render_mail(f"mail/{template}.txt", live),
            mail_compose.render_mail(f"mail/{template}.html", live),
        )
        return real_queue(kind, to_addr=to_addr, template=template, subject=subject, ticket=ticket, **context)

    monkeypatch.setattr(notify, "queue", queue)
    return seen


def body(message, kind):
    return message.get_body((kind,)).get_content().replace("\r\n", "\n").rstrip("\n")


def stored():
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def open_ticket(make, ref, customer):
    ticket, _ = submission.submit_ticket(
        customer,
        subject="Printer on fire",
        body="Smoke **everywhere**.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    db.session.commit()
    return ticket


def test_the_request_stores_what_a_mail_says_and_writes_no_template(make, ref):
    make.technician(ref.categories["IT"], email="it@example.test")
    ticket = open_ticket(make, ref, make.customer(email="alice@example.test"))
    rows = stored()
    assert [(r.template, r.body_text, r.body_html) for r in rows] == [
        ("ticket_ack", None, None),
        ("ticket_new_agent", None, None),
    ]
    assert rows[0].context["ticket"] == {"$row": "Ticket", "id": ticket.id}
    assert rows[0].context["recipient"] == {"$row": "User", "id": ticket.requester_id}
    assert rows[0].context["url"].endswith(f"/portal/tickets/{ticket.id}")


def test_the_worker_sends_what_the_request_would_have_written(app, make, ref, smtp_server, rendered_at_once):
    it_tech = make.technician(ref.categories["IT"], email="it@example.test")
    customer = make.customer(email="alice@example.test")
    ticket = open_ticket(make, ref, customer)
    tickets.add_message(ticket, it_tech, "Have you tried *unplugging* it?")
    db.session.commit()  # a reply, then a resolve later: two mails (together, the reply says both)
    tickets.set_status(ticket, it_tech, "resolved")
    db.session.commit()
    assert mail_delivery.process_due()["sent"] == 4
    sent = {
        (got["rcpt_tos"][0], r.template): got["message"]
        for got, r in zip(smtp_server.received, stored(), strict=True)
    }
    assert (
        set(sent)
        == set(rendered_at_once)
        == {
            ("alice@example.test", "ticket_ack"),
            ("it@example.test", "ticket_new_agent"),
            ("alice@example.test", "public_reply"),
            ("alice@example.test", "ticket_resolved"),
        }
    )
    for key, message in sent.items():
        text, html = rendered_at_once[key]
        assert body(message, "plain") == text.rstrip("\n")
        assert body(message, "html") == html.rstrip("\n")


def test_a_mail_is_composed_once_and_a_retry_sends_the_same(app, make, ref, smtp_server):
    ticket = open_ticket(make, ref, make.customer(email="alice@example.test"))
    smtp_server.refuse = 1
    assert mail_delivery.process_due()["deferred"] == 1
    [row] = stored()
    first = row.body_text
    assert "Printer on fire" in first and row.headers["Reply-To"].startswith(f"support+t{ticket.id}.")
    ticket.subject = "Renamed meanwhile"
    db.session.commit()
    assert mail_delivery.process_due(now=utcnow() + timedelta(hours=1))["sent"] == 1
    [got] = smtp_server.received
    assert body(got["message"], "plain") == first.rstrip("\n")
    assert got["message"]["Message-ID"] == row.message_id


def test_a_mail_whose_rows_are_gone_is_failed_with_the_reason(app, make, smtp_server):
    admin = make.admin(email="ada@example.test")
    [row] = notify.admin_alert([admin], subject="Check", text="Look at this", url="http://x.example/a")
    db.session.commit()
    row.context = dict(row.context, recipient={"$row": "User", "id": admin.id + 1000})
    db.session.commit()
    assert mail_delivery.process_due()["sent"] == 0
    failed = db.session.get(OutboxMessage, row.id)
    assert failed.status == "failed" and "no longer exists" in failed.last_error
    assert smtp_server.received == []


def test_a_mail_not_written_yet_shows_on_the_admin_pages(client, login, make, ref):
    open_ticket(make, ref, make.customer(email="alice@example.test"))
    [row] = stored()
    login(make.admin())
    detail = client.get(f"/admin/mail/{row.id}")
    assert detail.status_code == 200 and b"composes it when it first sends it" in detail.data
    assert row.message_id.strip("<>").encode() in detail.data
    assert client.get(f"/admin/mail/{row.id}/html").status_code == 200


def test_devbox_and_suppressed_mail_is_written_at_once(app, make, ref, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "devbox")
    open_ticket(make, ref, make.customer(email="alice@example.test"))
    [row] = stored()
    assert row.status == "devbox" and "Printer on fire" in row.body_text
