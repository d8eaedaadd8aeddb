"""Erasing a customer's personal data (GDPR right to erasure) from their admin page: nothing of
theirs is left in any table, the tickets stay for reports and the ledger, and the account is gone."""

import io
import re
import time

import pytest
from sqlalchemy import select, text

from helpdesk.accounts import erasure
from helpdesk.accounts.models import AuditEvent, User
from helpdesk.api import tokens
from helpdesk.billing.models import AutoTopUp, CreditPack, Payment, PlanSubscription, StripeEvent
from helpdesk.credits import submission, time_entries
from helpdesk.extensions import db
from helpdesk.kb import articles, feedback
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail import notify
from helpdesk.mail.compose import compose
from helpdesk.mail.models import InboundMail, OutboxMessage
from helpdesk.mail.tokens import reply_address, thread_root_id
from helpdesk.reports import metrics
from helpdesk.tickets import drafts, lifecycle, storage, subscribers
from helpdesk.tickets.models import Attachment, Ticket
from helpdesk.tickets.search_schema import FTS_TABLES
from helpdesk.webhooks.models import EVENT_TYPES
from tests.credit_helpers import bank
from tests.factories import PASSWORD, OrganizationFactory
from tests.functional.api_support import bearer
from tests.functional.webhook_support import add_endpoint

NAME, EMAIL, WORD = "Erin Quillfeather", "erin.quill@example.com", "zephyrquokka"
NEEDLES = (NAME.lower(), "quillfeather", EMAIL, "erin.quill", WORD)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def mail_from_erin(subject, body, *, to="support@helpdesk.example", headers=""):
    return (
        f"From: {NAME} <{EMAIL}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{time.monotonic_ns()}@example.test>\r\n{headers}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.fixture
def desk(app, make, ref, client, login, tmp_path, monkeypatch):
    """Erin, a customer with a paid ticket (a file, an agent's reply quoting her, her reply by mail,
    an agent's time note), a reply on Olga's ticket she follows, mail held from her, an API token,
    a draft and a comment on an article; a webhook endpoint hears all of it."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    admin = make.admin(name="Ada Admin", email="ada@example.test")
    agent = make.technician(ref.categories["IT"], name="Tess Tech", email="tess@example.test")
    olga = make.customer(name="Olga Other", email="olga@example.test")
    erin = make.customer(name=NAME, email=EMAIL)
    add_endpoint(admin, "https://hooks.example.com/in", events=list(EVENT_TYPES))
    account = bank("Business", 1000, user=erin)
    login(erin)
    response = client.post(
        "/portal/tickets/new",
        data={
            "category": ref.categories["IT"].id,
            "priority": ref.priorities["High"].id,
            "subject": f"VPN {WORD} broken",
            "body": f"My laptop {WORD} cannot connect; call me, {NAME}.",
            "submission_key": "erin-key",
            "attachments": [(io.BytesIO(PNG), f"{WORD}.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    ticket = db.session.scalar(select(Ticket).where(Ticket.requester_id == erin.id))
    ticket.assignee_id = agent.id
    lifecycle.add_message(ticket, agent, f"> My laptop {WORD} cannot connect\n\nHello {NAME}, try this.")
    time_entries.log_time(ticket, agent, 15, note=f"Phoned Erin about {WORD}")
    olgas, _ = submission.submit_ticket(
        olga,
        subject="Printer jams",
        body="Every page.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Normal"].id,
    )
    olgas.assignee_id = agent.id
    subscribers.add_subscriber(olgas, agent, EMAIL)  # history: "subscriber added" with her address
    lifecycle.add_message(olgas, erin, f"Same here, {WORD} printer.")
    tokens.create_token(erin, name=f"{WORD} laptop", scopes=["tickets:read"], days=30)
    drafts.save_draft(erin, submission_key="draft-key", subject=f"Draft {WORD}", body="Half written")
    article = articles.create_article(
        agent,
        category_id=ref.categories["IT"].id,
        title="VPN set-up",
        body="Install the client.",
        visibility="customers",
        publish=True,
    )
    feedback.vote(article, user=erin, browser_key=None, helpful=False)
    feedback.comment(article, user=erin, browser_key=None, text=f"Nothing about {WORD}")
    db.session.commit()
    phoned = client.post(  # an agent opens one for her through the API, with an Idempotency-Key
        "/api/v1/tickets",
        json={
            "subject": "Phoned in",
            "body": f"She called about {WORD}.",
            "category_id": ref.categories["IT"].id,
            "priority_id": ref.priorities["Normal"].id,
            "customer_email": EMAIL,
        },
        headers=bearer(agent) | {"Idempotency-Key": "phone-call-1"},
    )
    assert phoned.status_code == 201, phoned.get_data(as_text=True)
    reply = mail_from_erin(
        f"Re: [#{ticket.id}] VPN",
        f"Still broken, {WORD}.",
        to=reply_address(ticket.id, erin.id),
        headers=f"In-Reply-To: {thread_root_id(ticket.id)}\r\n",
    )
    assert mail_inbound.ingest(reply).outcome == "reply"
    held = mail_from_erin(
        f"Re: [#{olgas.id}] Printer", f"Another {WORD}", to=reply_address(olgas.id, olga.id)
    )
    assert mail_inbound.ingest(held).outcome == "rejected"  # kept with its raw bytes
    db.session.commit()
    return type(
        "Desk",
        (),
        dict(admin=admin, agent=agent, olga=olga, erin=erin, ticket=ticket, olgas=olgas, account=account),
    )


def text_found(*needles):
    """(table, column, value) of every value in every table that holds one of `needles`."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                if any(needle in text.lower() for needle in needles):
                    found.append((table.name, column, text[:80]))
    return found


def search_documents_found(*needles):
    """The search documents (search_schema.py) that hold one of `needles`: on SQLite the FTS5 tables'
    stored text and index segments, on PostgreSQL the tsvector columns."""
    if db.engine.dialect.name == "sqlite":
        tables = [f"{fts}_{part}" for fts in FTS_TABLES.values() for part in ("content", "data")]
        values = [v for t in tables for row in db.session.execute(text(f"SELECT * FROM {t}")) for v in row]
    else:
        values = db.session.execute(
            text("SELECT search_all::text || search_public::text FROM tickets")
        ).scalars()
    texts = [
        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values if v is not None
    ]
    return [t[:80] for t in texts if any(needle in t.lower() for needle in needles)]


def erase(client, user):
    """The admin's two posts: the question, then "yes"."""
    asked = client.post(f"/admin/users/{user.id}/erase")
    assert asked.status_code == 200 and "Erase the personal data of" in asked.get_data(as_text=True)
    return client.post(f"/admin/users/{user.id}/erase", data={"confirmed_action": "yes"})


def test_nothing_of_the_customer_is_left_anywhere(app, client, login, desk):
    assert {table for table, _column, _value in text_found(*NEEDLES)} >= {
        "users",
        "tickets",
        "messages",
        "attachments",
        "ticket_drafts",
        "inbound_mail",
        "outbox_messages",
        "api_tokens",
        "kb_votes",
        "time_entries",
        "webhook_deliveries",
        "notices",
        "ticket_events",
        "api_idempotent_requests",
    }
    assert search_documents_found(*NEEDLES)
    stored = db.session.scalar(select(Attachment.storage_name).where(Attachment.ticket_id == desk.ticket.id))
    files = storage.backend(app)
    assert files.exists(stored)
    opened_before = metrics.category_table(desk.admin, metrics.default_filter()).rows
    login(desk.admin)

    response = erase(client, desk.erin)

    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Erased: the personal data of customer #{desk.erin.id} is gone" in page
    db.session.expire_all()
    assert text_found(*NEEDLES) == []
    assert search_documents_found(*NEEDLES) == []
    assert not files.exists(stored)
    erin = db.session.get(User, desk.erin.id)
    assert (erin.name, erin.email, erin.active, erin.password_hash) == (
        f"Erased customer #{erin.id}",
        f"erased-{erin.id}@invalid",
        False,
        None,
    )
    ticket = db.session.get(Ticket, desk.ticket.id)
    assert (ticket.subject, ticket.body, ticket.requester_id, ticket.paid_credits) == (
        "[erased]",
        "[erased]",
        erin.id,
        150,
    )
    assert {m.body for m in ticket.messages} == {"[erased]"}
    olgas = db.session.get(Ticket, desk.olgas.id)
    assert (olgas.subject, [m.body for m in olgas.messages]) == ("Printer jams", ["[erased]"])
    assert metrics.category_table(desk.admin, metrics.default_filter()).rows == opened_before
    verified = app.test_cli_runner().invoke(args=["credits", "verify"])
    assert verified.exit_code == 0, verified.output
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "erased")).all()
    assert (event.actor_id, event.target_user_id, event.old_value, event.new_value) == (
        desk.admin.id,
        erin.id,
        None,
        "personal data erased",
    )
    assert "personal data erased" in page and "Ada Admin" in page


def listed(client, url, ticket):
    """Whether the page at `url` links to `ticket` (the agent queue or the portal's list)."""
    return re.search(rf'href="/(agent|portal)/tickets/{ticket.id}"', client.get(url).get_data(as_text=True))


def test_search_finds_no_erased_word(client, login, desk):
    """Through the real ticket search (FTS5 on SQLite, tsvector on PostgreSQL), before and after."""
    words = (WORD, "quillfeather", "laptop")
    login(desk.agent)
    assert all(listed(client, f"/agent/?status=all&q={word}", desk.ticket) for word in words)
    assert listed(client, f"/agent/?status=all&q={WORD}", desk.olgas)  # Erin's reply on Olga's
    login(desk.admin)
    erase(client, desk.erin)
    for viewer in (desk.agent, desk.admin):
        login(viewer)
        for word in words:
            assert not listed(client, f"/agent/?status=all&q={word}", desk.ticket)
            assert not listed(client, f"/agent/?status=all&q={word}", desk.olgas)
        assert listed(client, "/agent/?status=all&q=erased", desk.ticket)
    login(desk.olga)
    assert not listed(client, f"/portal/tickets?state=all&q={WORD}", desk.olgas)
    assert listed(client, "/portal/tickets?state=all&q=page", desk.olgas)  # her own words stay


def test_the_erased_account_can_no_longer_sign_in_and_its_session_ends(app, client, login, desk):
    erin_browser = app.test_client()
    login(desk.erin, as_client=erin_browser)
    assert erin_browser.get("/portal/tickets").status_code == 200
    assert app.test_client().post("/login", data={"email": EMAIL, "password": PASSWORD}).status_code == 302
    login(desk.admin)
    erase(client, desk.erin)
    response = erin_browser.get("/portal/tickets")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for address in (EMAIL, f"erased-{desk.erin.id}@invalid"):
        answer = app.test_client().post("/login", data={"email": address, "password": PASSWORD})
        assert answer.status_code == 200 and "E-mail or password is not correct." in answer.get_data(
            as_text=True
        )


def test_mail_from_the_old_address_comes_from_a_new_customer(client, login, ref, desk):
    login(desk.admin)
    erase(client, desk.erin)
    entry = mail_inbound.ingest(mail_from_erin("Hello again", "A new question."))
    assert entry.outcome == "new_ticket"
    ticket = db.session.get(Ticket, entry.ticket_id)
    assert ticket.requester_id != desk.erin.id
    assert (ticket.requester.email, ticket.requester.name) == (EMAIL, NAME)
    old_reply = mail_from_erin(
        f"Re: [#{desk.ticket.id}] VPN", "Me again.", to=reply_address(desk.ticket.id, desk.erin.id)
    )
    assert mail_inbound.ingest(old_reply).outcome == "rejected"  # the erased ticket takes nothing
    assert [m.body for m in db.session.get(Ticket, desk.ticket.id).messages] == [
        "[erased]"
    ] * 2  # the agent's reply, hers by mail


def test_with_htmx_the_question_is_a_dialog_and_the_answer_the_panel(client, login, desk):
    login(desk.admin)
    hx = {"HX-Request": "true"}
    asked = client.post(f"/admin/users/{desk.erin.id}/erase", headers=hx)
    assert asked.status_code == 200 and asked.headers["HX-Retarget"] == "#confirm-host"
    assert "Erase the personal data of Erin Quillfeather?" in asked.get_data(as_text=True)
    done = client.post(f"/admin/users/{desk.erin.id}/erase", data={"confirmed_action": "yes"}, headers=hx)
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "<html" not in body and 'id="account-panel"' in body
    assert f"Erased: the personal data of customer #{desk.erin.id} is gone" in body and NAME not in body


def test_an_agent_is_refused_until_made_a_customer(client, login, desk):
    login(desk.admin)
    page = client.get(f"/admin/users/{desk.agent.id}").get_data(as_text=True)
    assert "Make them a customer first" in page and "Erase the personal data of" not in page
    response = client.post(f"/admin/users/{desk.agent.id}/erase", data={"confirmed_action": "yes"})
    assert response.status_code == 422
    assert (
        "Tess Tech is a technician: only a customer&#39;s personal data is erased here"
        in response.get_data(as_text=True)
    )
    db.session.expire_all()
    assert db.session.get(User, desk.agent.id).email == "tess@example.test"


@pytest.mark.parametrize("who", ["agent", "erin", "olga"])
def test_non_admins_get_404(client, login, desk, who):
    login(getattr(desk, who))
    assert (
        client.post(f"/admin/users/{desk.erin.id}/erase", data={"confirmed_action": "yes"}).status_code == 404
    )
    db.session.expire_all()
    assert db.session.get(User, desk.erin.id).name == NAME


def test_the_question_says_what_happens_and_works_without_javascript(client, login, desk):
    login(desk.admin)
    user_page = client.get(f"/admin/users/{desk.erin.id}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="(/admin/users/\d+/erase)"', user_page)
    assert form and 'aria-labelledby="erase-heading"' in user_page
    question = client.post(form.group(1))
    body = question.get_data(as_text=True)
    assert question.status_code == 200 and "<html" in body
    assert '<h1 id="confirm-question">Erase the personal data of Erin Quillfeather?</h1>' in body
    assert (
        "The 2 tickets they opened keep their numbers, dates, category, priority, status and charges" in body
    )
    assert (
        "Their 1 message on other tickets is removed likewise" in body
        and "They stop following 1 ticket" in body
    )
    assert "1 file on those tickets or sent by them is deleted" in body
    assert f"renamed “Erased customer #{desk.erin.id}”" in body and "cannot be undone" in body
    assert '<input type="hidden" name="confirmed_action" value="yes">' in body
    assert f'href="/admin/users/{desk.erin.id}"' in body  # Cancel
    db.session.expire_all()
    assert db.session.get(User, desk.erin.id).name == NAME  # asking changed nothing


def test_a_stale_sign_in_is_asked_to_confirm_it_is_the_admin_first(client, login, desk):
    login(desk.admin)
    with client.session_transaction() as sess:
        sess["auth_at"] = time.time() - 3600
    response = client.post(f"/admin/users/{desk.erin.id}/erase", data={"confirmed_action": "yes"})
    assert response.status_code == 200 and "Confirm it" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, desk.erin.id).name == NAME


def test_the_last_manager_of_an_organization_is_warned(client, login, make, desk):
    organization = OrganizationFactory(name="Acme")
    desk.erin.organization_id, desk.erin.is_org_manager = organization.id, True
    db.session.commit()
    login(desk.admin)
    body = client.post(f"/admin/users/{desk.erin.id}/erase").get_data(as_text=True)
    assert "Acme will have no manager" in body


def test_an_erased_account_is_never_reactivated(client, login, desk):
    login(desk.admin)
    erase(client, desk.erin)
    page = client.get(f"/admin/users/{desk.erin.id}").get_data(as_text=True)
    assert "Reactivate" not in page and "Erase the personal data" not in page and "Personal data" in page
    response = client.post(
        f"/admin/users/{desk.erin.id}/active", data={"active": "1", "confirmed_action": "yes"}
    )
    assert "personal data was erased: it stays deactivated" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, desk.erin.id).active is False


def test_a_rolled_back_erasure_deletes_no_file(app, desk):
    stored = db.session.scalar(select(Attachment.storage_name).where(Attachment.ticket_id == desk.ticket.id))
    erasure.erase_customer(desk.admin, desk.erin)
    db.session.rollback()
    assert storage.backend(app).exists(stored)
    db.session.expire_all()
    assert db.session.get(Ticket, desk.ticket.id).subject == f"VPN {WORD} broken"
    assert db.session.scalar(select(InboundMail.id).where(InboundMail.from_addr == EMAIL)) is not None


def test_billing_keeps_amounts_and_forgets_the_person(client, login, desk):
    pack = CreditPack(name="Team", credits=500, price=4900, currency="eur")
    db.session.add(pack)
    db.session.flush()
    payment = Payment(
        account_id=desk.account.id,
        pack_id=pack.id,
        user_id=desk.erin.id,
        credits=500,
        amount=4900,
        currency="eur",
        status="paid",
        idempotency_key="phone-order-1",
        link_email_to=EMAIL,
        checkout_url="https://checkout.stripe.test/c/pay_1",
    )
    subscription = PlanSubscription(
        account_id=desk.account.id,
        plan_id=desk.account.plan_id,
        user_id=desk.erin.id,
        status="active",
        idempotency_key="sub-1",
        stripe_customer_id="cus_erin",
    )
    top_up = AutoTopUp(
        account_id=desk.account.id,
        user_id=desk.erin.id,
        pack_id=pack.id,
        threshold=100,
        stripe_customer_id="cus_erin",
        payment_method_id="pm_erin",
    )
    event = StripeEvent(
        event_id="evt_1",
        type="checkout.session.completed",
        payload=f'{{"customer_details": {{"email": "{EMAIL}", "name": "{NAME}"}}, "amount_total": 4900}}',
    )
    db.session.add_all([payment, subscription, top_up, event])
    db.session.commit()
    login(desk.admin)
    erase(client, desk.erin)
    db.session.expire_all()
    assert text_found(*NEEDLES, "cus_erin", "pm_erin", "checkout.stripe.test") == []
    payment = db.session.get(Payment, payment.id)
    assert (payment.amount, payment.credits, payment.status, payment.link_email_to) == (
        4900,
        500,
        "paid",
        None,
    )
    assert db.session.get(AutoTopUp, top_up.id).enabled is False
    assert '"amount_total": 4900' in db.session.get(StripeEvent, event.id).payload


def test_the_admins_alerts_about_their_bank_go_and_a_namesakes_stay(client, login, make, ref, desk):
    """The admins' queued alerts about a bank name its owner ("Bank of Erin Quillfeather-Moss: ...",
    in the mail once the worker composed it, in the text stored for the worker before): erasing
    Erin Quillfeather deletes those about her bank, not those of a customer whose name begins
    with hers."""
    namesake = make.customer(name=f"{NAME}-Moss", email="moss@example.test")
    bank("Pay as you go", 400, user=namesake)
    submission.submit_ticket(  # 150 left: the low-balance alert to the admins, composed below
        namesake,
        subject="Mail server down",
        body="Nobody can send mail.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Urgent"].id,
    )
    [composed] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "admin_alert"))
    compose(composed)
    assert f"Bank of {NAME}-Moss: Low credit balance" in composed.body_text
    notify.admin_alert(  # as billing words a failed payment of hers; not composed yet
        [desk.admin],
        subject="Card payment failed",
        text=f"The card payment of 50.00 EUR failed: the bank of {NAME} is at 0.",
        url="http://localhost/admin/billing/alerts",
    )
    db.session.commit()

    def alerts():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "admin_alert"))
        return sorted(row.subject for row in rows)

    assert alerts() == ["Alert: Card payment failed", f"Alert: Low credit balance ({NAME}-Moss)"]
    login(desk.admin)
    assert erase(client, desk.erin).status_code == 302
    db.session.expire_all()
    assert alerts() == [f"Alert: Low credit balance ({NAME}-Moss)"]
