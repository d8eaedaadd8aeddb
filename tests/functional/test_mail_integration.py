"""Mail queued by the features built beside the e-mail layer: subscribers, credit alerts, billing.

Each notification is an outbox row written in the transaction of its event: it exists exactly once
when the event does, and not at all when the event rolls back.
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import stripe
from sqlalchemy import func, select

from helpdesk.accounts import password_reset
from helpdesk.accounts.models import User
from helpdesk.billing.models import BillingAlert, Payment
from helpdesk.credits import guarantee as credit_sla
from helpdesk.credits import ledger as credits
from helpdesk.credits import submission, time_entries
from helpdesk.credits.models import CreditAlert
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets import subscribers
from tests import billing_support as bs
from tests.credit_helpers import bank
from tests.mail_support import written

from .agent_support import HTMX


def outbox(kind=None):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return written(db.session.scalars(query).all())


def addresses(kind):
    return sorted(row.to_addr for row in outbox(kind))


def charge(account, amount, key):
    credits.post_entry(account.id, -amount, "charge", idempotency_key=key)
    db.session.commit()


# --- Subscribers -------------------------------------------------------------------------------


def test_agent_adding_an_existing_customer_mails_them_once(client, login, desk):
    login(desk.tech_it)
    for _ in range(2):  # the second add changes nothing, so it sends nothing
        client.post(
            f"/agent/tickets/{desk.it_ticket.id}/subscribers",
            data={"subscriber-email": "carl@example.com"},
            headers=HTMX,
        )
    (row,) = outbox("subscriber_added")
    assert row.to_addr == "carl@example.com" and row.ticket_id == desk.it_ticket.id
    assert "VPN drops" in row.subject and "Ivan IT added you" in row.body_text
    assert "no password yet" not in row.body_text  # they have one


def test_a_new_address_gets_an_invitation_with_a_working_set_password_link(desk):
    subscribers.add_subscriber(desk.it_ticket, desk.tech_it, "newbie@example.com")
    db.session.commit()
    (row,) = outbox("subscriber_added")
    assert row.to_addr == "newbie@example.com"
    link = re.search(r"(http\S+/reset-password/\S+)", row.body_text)
    assert link is not None and link.group(1) in row.body_html
    token = link.group(1).rsplit("/", 1)[1]
    user = password_reset.user_for_token(token)
    assert user is not None and user.email == "newbie@example.com"
    assert "ask for a new one" in row.body_text  # the link expires; the mail says what to do then


def test_no_subscriber_mail_when_the_change_rolls_back(desk):
    subscribers.add_subscriber(desk.it_ticket, desk.tech_it, "newbie@example.com")
    db.session.rollback()
    assert outbox() == []


# --- Credits: low balance, SLA refund, unbilled time ---------------------------------------------


@pytest.fixture
def staff(make):
    """Two active admins and one deactivated admin (never mailed)."""
    return [make.admin(email="ada@example.test"), make.admin(email="al@example.test")], make.admin(
        email="gone@example.test", active=False
    )


def test_crossing_a_low_balance_stage_mails_the_customer_and_admins_once(make, ref, staff):
    customer = make.customer(email="payg@example.test")
    # 100 signup grant + a 200 top-up: stages at 150 (cheapest paid), 50 (25% of 200), 0.
    account = bank("Pay as you go", 300, user=customer)
    charge(account, 100, "c1")  # 200: above every stage
    assert outbox() == []
    charge(account, 60, "c2")  # 140: first crossing
    charge(account, 10, "c3")  # 130: same stage, nothing new
    (mail,) = outbox("low_balance")
    assert mail.to_addr == "payg@example.test"
    assert "down to 140 credits" in mail.body_text and "/portal/credits" in mail.body_text
    assert addresses("admin_alert") == ["ada@example.test", "al@example.test"]
    assert "Bank of" in outbox("admin_alert")[0].body_text
    alert = db.session.scalar(select(CreditAlert))
    assert alert.notified_at is not None
    charge(account, 100, "c4")  # 30: the next stage is a new crossing
    assert len(outbox("low_balance")) == 2 and len(outbox("admin_alert")) == 4


def test_a_top_up_re_arms_the_warning(make, ref, staff):
    customer = make.customer()
    account = bank("Pay as you go", 300, user=customer)
    charge(account, 200, "c1")
    credits.adjust(account, 200, "Goodwill", staff[0][0])
    db.session.commit()
    charge(account, 250, "c2")
    assert len(outbox("low_balance")) == 2


def test_a_shared_bank_warns_its_managers_not_every_member(make, ref, staff):
    org = make.OrganizationFactory(name="Acme")
    make.customer(organization=org, is_org_manager=True, email="carol@example.test")
    make.customer(organization=org, email="dave@example.test")
    account = bank("Pay as you go", 300, organization=org)
    charge(account, 300, "drain")
    (mail,) = outbox("low_balance")
    assert mail.to_addr == "carol@example.test"
    assert "Acme" in mail.subject and "shared credit bank of Acme" in mail.body_text
    assert all("Acme" in row.subject for row in outbox("admin_alert"))


def test_no_low_balance_mail_when_the_debit_rolls_back(make, ref, staff):
    account = bank("Pay as you go", 300, user=make.customer())
    credits.post_entry(account.id, -300, "charge", idempotency_key="undone")
    db.session.rollback()
    assert outbox() == [] and db.session.scalar(select(func.count(CreditAlert.id))) == 0


def test_a_missed_response_target_mails_the_requester_once(make, ref, staff):
    alice, agent = make.customer(email="alice@example.test"), make.technician(ref.categories["IT"])
    bank("Business", 1000, user=alice)
    ticket, _ = submission.submit_ticket(
        alice,
        subject="Server down",
        body="Everything is down.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Urgent"].id,
        submission_key="k1",
    )
    ticket.due_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    tickets.add_message(ticket, agent, "Sorry for the wait.")
    db.session.commit()
    assert credit_sla.sla_sweep().refunds == []
    db.session.commit()
    (mail,) = outbox("sla_refund")
    assert mail.to_addr == "alice@example.test" and mail.ticket_id == ticket.id
    assert "the 250 credits paid for its Urgent priority went back" in mail.body_text
    assert outbox("admin_alert") == []  # a refund is the customer's news; admins see it in their list


def test_a_time_bank_s_low_balance_mail_says_agent_time_costs_credits(make, ref, staff):
    """On a time plan every priority is free and every minute of agent time is charged: the mail
    says that, not that free-priority tickets are not affected."""
    customer = make.customer(email="timebank@example.test")
    account = bank("Time bank", 600, user=customer)
    account.plan.minute_rate = 2
    agent = make.technician(ref.categories["IT"], name="Ivan IT")
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    time_entries.log_time(ticket, agent, 230)  # 460 credits: 140 left, below 25% of the 600
    db.session.commit()
    (mail,) = outbox("low_balance")
    assert mail.to_addr == "timebank@example.test" and "down to 140 credits" in mail.body_text
    said = "On your plan every minute agents work on your tickets costs 2 credits, whatever the priority."
    assert said in mail.body_text and said in mail.body_html
    assert "free priority" not in mail.body_text and "free priority" not in mail.body_html
    payg = bank("Pay as you go", 300, user=make.customer(email="payg@example.test"))
    charge(payg, 300, "drain")
    (priced,) = [m for m in outbox("low_balance") if m.to_addr == "payg@example.test"]
    assert (
        "Tickets at a paid priority need credits; tickets at a free priority are not affected."
        in priced.body_text
    )
    assert "every minute" not in priced.body_text


def test_unbilled_time_mails_the_admins_not_the_customer(make, ref, staff):
    customer = make.customer(email="timebank@example.test")
    bank("Time bank", 600, user=customer)
    agent = make.technician(ref.categories["IT"], name="Ivan IT")
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    time_entries.log_time(ticket, agent, 700)
    db.session.commit()
    rows = outbox("admin_alert")
    assert sorted(r.to_addr for r in rows) == ["ada@example.test", "al@example.test"]
    assert "Unbilled time" in rows[0].subject and "700 min logged by Ivan IT" in rows[0].body_text
    assert [r for r in outbox() if r.to_addr == "timebank@example.test"] == []


def test_unbilled_time_is_one_alert_and_one_mail_per_ticket_and_the_agent_is_told(
    client, login, make, ref, staff
):
    customer = make.customer(email="timebank@example.test")
    bank("Time bank", 0, user=customer)
    agent = make.technician(ref.categories["IT"], name="Ivan IT")
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    db.session.commit()
    login(agent)
    answer = client.post(
        f"/agent/credits/tickets/{ticket.id}/time",
        data={"minutes": 30, "note": "Call", "submission_key": "form-1"},
    )
    assert answer.headers["Location"] == f"/agent/tickets/{ticket.id}#credit-panel"  # back to the ticket
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Saved, but these 30 min could not be charged" in page and "The admins have been told." in page
    for minutes in (20, 5):
        htmx = client.post(
            f"/agent/credits/tickets/{ticket.id}/time",
            data={"minutes": minutes, "submission_key": f"form-{minutes}"},
            headers={"HX-Request": "true"},
        ).get_data(as_text=True)
        assert f"Saved, but these {minutes} min could not be charged" in htmx
    assert len(outbox("admin_alert")) == 2  # one mail to each of the two admins, not one per entry
    alerts = db.session.scalars(select(CreditAlert).where(CreditAlert.ticket_id == ticket.id)).all()
    assert len(alerts) == 1 and "5 min logged by Ivan IT" in alerts[0].text


# --- Billing: receipts, payment links, alerts ----------------------------------------------------


@pytest.fixture
def webhook(app, monkeypatch):
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", bs.WEBHOOK_SECRET)


@pytest.fixture
def pending(make):
    plan = bs.default_plan()
    buyer = make.customer(email="buyer@example.test")
    return bs.payment(bs.bank(plan, user=buyer), bs.pack(credits=1200, price=10000), buyer)


def test_a_credited_payment_mails_one_receipt_even_on_duplicate_events(client, webhook, pending):
    event = bs.session_event(pending)
    bs.deliver(client, event)
    bs.deliver(client, event)  # the same event again
    bs.deliver(client, bs.session_event(pending, "checkout.session.async_payment_succeeded"))
    (receipt,) = outbox("purchase_receipt")
    assert receipt.to_addr == "buyer@example.test"
    assert "1,200" in receipt.body_text and "100.00 USD" in receipt.body_text
    assert f"/billing/payments/{pending.id}" in receipt.body_text


def test_a_receipt_for_a_shared_bank_says_so(client, webhook, make):
    org = make.OrganizationFactory(name="Acme")
    manager = make.customer(organization=org, is_org_manager=True, email="carol@example.test")
    shared = bs.bank(bs.default_plan(), organization=org)
    bs.deliver(client, bs.session_event(bs.payment(shared, bs.pack(), manager)))
    (receipt,) = outbox("purchase_receipt")
    assert receipt.to_addr == "carol@example.test" and "in Acme's shared bank" in receipt.body_text


def test_an_unpaid_session_sends_no_receipt(client, webhook, pending):
    bs.deliver(client, bs.session_event(pending, payment_status="unpaid"))
    assert outbox() == []


def test_a_refund_into_debt_mails_the_admins_once(client, webhook, pending, make, staff):
    bs.deliver(client, bs.session_event(pending))
    credits.post_entry(pending.account_id, -1000, "charge", idempotency_key="spent")
    db.session.commit()
    refund = bs.refund_event(pending, 10000)
    bs.deliver(client, refund)
    bs.deliver(client, refund)
    assert db.session.scalar(select(func.count(BillingAlert.id))) == 1
    rows = [r for r in outbox("admin_alert") if "Billing" in r.subject]
    assert sorted(r.to_addr for r in rows) == ["ada@example.test", "al@example.test"]
    assert "put a bank in debt" in rows[0].subject and "/admin/billing/alerts" in rows[0].body_text


def test_a_phone_order_mails_the_payment_link_to_the_customer_once(app, client, login, make, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)
    bs.default_plan()
    pack = bs.pack("Team", credits=1200, price=10000)
    make.customer(email="phone@example.com", name="Pat Phone")
    login(make.admin(name="Ada Admin"))
    data = {"email": "phone@example.com", "pack_id": pack.id, "nonce": "p" * 32}
    client.post("/admin/billing/phone-order", data=data)
    client.post("/admin/billing/phone-order", data=data)  # a double click: one payment, one mail
    (mail,) = outbox("payment_link")
    assert mail.to_addr == "phone@example.com" and "Ada Admin prepared" in mail.body_text
    path = urlsplit(re.search(r"(http\S+/billing/payments/\d+/pay)", mail.body_text).group(1)).path
    login(db.session.get(User, mail.user_id))
    payment = db.session.scalar(select(Payment))
    assert client.get(path).headers["Location"].endswith(f"/billing/demo-checkout/{payment.id}")
    assert payment.link_email_status == "queued" and payment.link_email_to == "phone@example.com"
