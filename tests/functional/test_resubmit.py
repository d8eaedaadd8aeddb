"""Back, then Submit (or Send) again: the browser refills the form, but the page was fetched anew
(signed-in pages are no-store), so its submission key is new. A new ticket the same as one the
requester got within ten minutes is asked about before anything is opened or charged; a reply
the same as its author's previous message within five minutes is not posted (or mailed) again."""

import io
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from helpdesk.credits import ledger as credits
from helpdesk.credits.models import KIND_CHARGE, LedgerEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets.models import Message, Ticket

from ..credit_helpers import balance_of, bank
from .agent_support import HTMX

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def carol(make, ref, login):
    """On Pay as you go with 1,000 credits: High costs 150."""
    user = make.customer(name="Carol Cole", email="carol@example.com")
    bank("Pay as you go", 1000, user=user)
    login(user)
    return user


def _form(ref, key, **overrides):
    return {
        "category": ref.categories["IT"].id,
        "priority": ref.priorities["High"].id,
        "subject": "Back test",
        "body": "The VPN drops every hour.\r\nSince Monday.",
        "submission_key": key,
    } | overrides


def _submit(client, data, files=()):
    data = dict(data, attachments=[(io.BytesIO(content), name) for name, content in files])
    return client.post("/portal/tickets/new", data=data, content_type="multipart/form-data")


def _tickets():
    return db.session.scalars(select(Ticket).order_by(Ticket.id)).all()


def _charges():
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == KIND_CHARGE)).all()


def _hidden_fields(page):
    """The fields the question's form sends again (the confirmation page, without JavaScript)."""
    form = page.split('name="confirmed_action"')[1].split("</form>")[0]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    return fields | {"confirmed_action": "yes"}


def _outbox():
    return db.session.scalar(select(func.count(OutboxMessage.id)))


def test_back_and_submit_asks_first_and_charges_nothing(client, carol, ref):
    account = credits.account_for(carol)
    assert _submit(client, _form(ref, "page-1")).status_code == 302
    (first,) = _tickets()
    assert balance_of(account) == 850
    mails = _outbox()

    answer = _submit(client, _form(ref, "page-2"))  # Back: the same text, the new page's key
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f"You submitted this ticket a moment ago as #{first.id}" in page
    assert "(High, 150 credits charged)" in page and "charges 150 credits for it again" in page
    assert f'action="/portal/tickets/{first.id}"' in page and f"Open #{first.id}" in page
    assert "Submit it again anyway" in page and 'value="page-2"' in page
    assert len(_tickets()) == 1 and len(_charges()) == 1 and balance_of(account) == 850
    assert _outbox() == mails  # nobody was told of a second ticket

    answer = _submit(client, _form(ref, "page-1"))  # the first page sent again: as before
    assert answer.status_code == 302 and answer.location.endswith(f"/portal/tickets/{first.id}")
    assert "already submitted" in client.get(answer.location).get_data(as_text=True)
    assert len(_tickets()) == 1 and balance_of(account) == 850


def test_submit_again_anyway_opens_and_charges_one_more_ticket_with_its_files(client, carol, ref):
    account = credits.account_for(carol)
    _submit(client, _form(ref, "page-1"))
    question = _submit(client, _form(ref, "page-2"), files=[("screen.png", PNG)])
    fields = _hidden_fields(question.get_data(as_text=True))
    assert fields["submission_key"] == "page-2" and fields["subject"] == "Back test"
    assert len(_tickets()) == 1

    for _ in range(2):  # "Submit it again anyway", pressed twice
        answer = client.post("/portal/tickets/new", data=fields)
        assert answer.status_code == 302
    first, second = _tickets()
    assert answer.location.endswith(f"/portal/tickets/{second.id}")
    assert second.priority.name == "High" and [a.filename for a in second.attachments] == ["screen.png"]
    assert len(_charges()) == 2 and balance_of(account) == 700
    assert {c.ticket_id for c in _charges()} == {first.id, second.id}


@pytest.mark.parametrize(
    "change",
    [{"body": "Another problem."}, {"subject": "Another subject"}, {"category": "Sales"}],
)
def test_another_ticket_is_not_asked_about(client, carol, ref, change):
    _submit(client, _form(ref, "page-1"))
    if "category" in change:
        change = {"category": ref.categories[change["category"]].id}
    assert _submit(client, _form(ref, "page-2", **change)).status_code == 302
    assert len(_tickets()) == 2 and len(_charges()) == 2


def test_the_same_ticket_ten_minutes_later_is_not_asked_about(client, carol, ref):
    _submit(client, _form(ref, "page-1"))
    with time_machine.travel(utcnow() + timedelta(minutes=10, seconds=1), tick=False):
        assert _submit(client, _form(ref, "page-2")).status_code == 302
    assert len(_tickets()) == 2


def test_a_free_twin_is_asked_about_too(client, carol, ref):
    _submit(client, _form(ref, "page-1", priority=ref.priorities["Normal"].id))
    page = _submit(client, _form(ref, "page-2", priority=ref.priorities["Normal"].id)).get_data(as_text=True)
    assert "(Normal, nothing charged)" in page and "opens a second ticket at no charge" in page
    assert len(_tickets()) == 1


# The agent's on-behalf form (/agent/tickets/new) shares the risk: Back, then Open ticket.


def _on_behalf(client, desk, key, **fields):
    data = {
        "customer_email": "alice@example.com",
        "customer_name": "",
        "category": desk.it.id,
        "priority": desk.ref.priorities["Urgent"].id,
        "subject": "Printer on fire",
        "body": "Called at 9:05: smoke from the printer.",
        "consent": "y",
        "submission_key": key,
    } | fields
    return client.post("/agent/tickets/new", data=data)


def test_on_behalf_back_and_open_asks_first_and_charges_once(client, login, desk):
    account = bank("Business", 1000, user=desk.requester)
    login(desk.tech_it)
    assert _on_behalf(client, desk, "phone-1").status_code == 302
    first = db.session.scalar(select(Ticket).where(Ticket.subject == "Printer on fire"))
    assert balance_of(account) == 750

    question = _on_behalf(client, desk, "phone-2")
    page = question.get_data(as_text=True)
    assert f"This ticket was opened for Alice Archer a moment ago as #{first.id}" in page
    assert "(Urgent, 250 credits charged)" in page and "charges 250 credits for it again" in page
    assert f'action="/agent/tickets/{first.id}"' in page
    assert balance_of(account) == 750
    assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.subject == "Printer on fire")) == 1

    fields = _hidden_fields(page)
    for _ in range(2):
        assert client.post("/agent/tickets/new", data=fields).status_code == 302
    assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.subject == "Printer on fire")) == 2
    assert balance_of(account) == 500


# Replies: Back, then Send, posts nothing twice.


@pytest.fixture
def own_ticket(make, ref, login):
    user = make.customer(name="Rita Reply")
    ticket = make.ticket(requester=user, category=ref.categories["IT"], priority=ref.priorities["Low"])
    login(user)
    return user, ticket


def _messages(ticket):
    return db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
    ).all()


def test_back_and_send_does_not_post_the_reply_twice(client, own_ticket):
    _user, ticket = own_ticket
    url = f"/portal/tickets/{ticket.id}/reply"
    assert client.post(url, data={"body": "Still broken.\r\n", "submission_key": "r-1"}).status_code == 302
    mails = _outbox()
    answer = client.post(url, data={"body": "Still broken.", "submission_key": "r-2"})
    assert answer.status_code == 302
    assert "Your reply was already sent" in client.get(answer.location).get_data(as_text=True)
    assert [m.body for m in _messages(ticket)] == ["Still broken.\r\n"] and _outbox() == mails

    answer = client.post(url, data={"body": "Still broken.", "submission_key": "r-3"}, headers=HTMX)
    assert "Your reply was already sent" in answer.get_data(as_text=True)
    assert len(_messages(ticket)) == 1


def test_the_same_words_after_an_answer_or_later_are_a_new_reply(client, own_ticket, make, ref):
    user, ticket = own_ticket
    url = f"/portal/tickets/{ticket.id}/reply"
    client.post(url, data={"body": "Thanks!", "submission_key": "r-1"})
    make.message(ticket, make.technician(ref.categories["IT"]), "Try restarting it.")
    db.session.commit()
    client.post(url, data={"body": "Thanks!", "submission_key": "r-2"})
    assert [m.body for m in _messages(ticket)] == ["Thanks!", "Try restarting it.", "Thanks!"]
    with time_machine.travel(utcnow() + timedelta(minutes=5, seconds=1), tick=False):
        client.post(url, data={"body": "Thanks!", "submission_key": "r-3"})
    assert len(_messages(ticket)) == 4


def test_the_same_words_with_a_new_file_are_a_new_reply(client, own_ticket):
    _user, ticket = own_ticket
    url = f"/portal/tickets/{ticket.id}/reply"
    client.post(url, data={"body": "Screenshot attached.", "submission_key": "r-1"})
    client.post(
        url,
        data={
            "body": "Screenshot attached.",
            "submission_key": "r-2",
            "attachments": (io.BytesIO(PNG), "s.png"),
        },
        content_type="multipart/form-data",
    )
    assert len(_messages(ticket)) == 2


def test_the_console_does_not_send_an_agent_s_reply_twice(client, login, desk):
    login(desk.tech_it)
    url = f"/agent/tickets/{desk.it_ticket.id}/reply"
    for key in ("a-1", "a-2"):
        answer = client.post(
            url,
            data={"reply-body": "Restart the router.", "reply-action": "reply", "reply-submission_key": key},
        )
        assert answer.status_code == 302
    page = client.get(answer.location).get_data(as_text=True)
    assert "This reply was already sent" in page
    assert [m.body for m in _messages(desk.it_ticket)] == ["Restart the router."]
