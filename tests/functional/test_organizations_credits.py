"""Organizations: a member asks the managers for credits (notice, mail, told it was sent), monthly
caps per member, who spent each charge on the shared bank, and the per-member usage (page, CSV)."""

import html
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from helpdesk.credits import ledger as credits
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits.models import CreditRequest, CreditSettingChange, LedgerEntry, ServicePlan
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.notices.models import Notice
from helpdesk.tickets.models import Ticket
from tests import billing_support as bs
from tests.credit_helpers import balance_of, bank
from tests.csv_support import spreadsheet_records
from tests.mail_support import written
from tests.races import run_at_once


@pytest.fixture
def acme(make, ref):
    """Acme's shared Pay-as-you-go bank of 100 credits, Carol (manager) and Dave (member)."""
    org = make.OrganizationFactory(name="Acme")
    shared = bank("Pay as you go", 100, organization=org)
    carol = make.customer(
        organization=org, is_org_manager=True, name="Carol Carter", email="carol@example.com"
    )
    dave = make.customer(organization=org, name="Dave Dunn", email="dave@example.com")
    return type("Acme", (), {"bank": shared, "carol": carol, "dave": dave, "org": org})


def draft_form(ref, subject="Printer on fire", key="ask-1"):
    """Each key is another ticket: its description says which (the same text from another form
    within minutes is asked about first: test_resubmit.py)."""
    return {
        "category": ref.categories["IT"].id,
        "priority": ref.priorities["Normal"].id,
        "subject": subject,
        "body": f"Smoke everywhere. (Form {key}.)",
        "submission_key": key,
    }


def ask_from_the_form(client, ref, wanted="Urgent", **kw):
    url = f"/portal/tickets/new/draft?then=ask&wanted={ref.priorities[wanted].id}"
    return client.post(url, data=draft_form(ref, **kw))


def mails(kind):
    return written(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all())


def notices_of(user):
    return db.session.scalars(select(Notice).where(Notice.user_id == user.id)).all()


def test_no_personal_bank_for_a_member_paid_for_by_the_shared_bank_and_the_form_keeps_its_input(
    client, login, make, acme
):
    from helpdesk.credits.models import CreditAccount

    login(make.admin())
    payg = db.session.scalar(select(ServicePlan).where(ServicePlan.name == "Pay as you go"))
    answer = client.post("/admin/credits/banks", data={"email": acme.dave.email, "plan": payg.id})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Dave Dunn belongs to Acme, whose shared bank pays for their tickets" in page
    assert f'value="{acme.dave.email}"' in page  # what was typed stays in the form
    assert (
        db.session.scalar(select(func.count(CreditAccount.id)).where(CreditAccount.user_id == acme.dave.id))
        == 0
    )
    unknown = client.post("/admin/credits/banks", data={"email": "nobody@example.com", "plan": payg.id})
    assert "No customer has this e-mail." in unknown.get_data(as_text=True)
    assert 'value="nobody@example.com"' in unknown.get_data(as_text=True)


def test_a_short_member_is_offered_to_ask_a_manager_not_to_buy(client, login, acme, ref):
    login(acme.dave)
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    urgent = ref.priorities["Urgent"].id
    assert "Short by 150 credits" in page
    assert f'formaction="/portal/tickets/new/draft?then=ask&amp;wanted={urgent}"' in page
    assert "then=buy" not in page


def test_asking_tells_the_managers_by_notice_and_mail_and_the_member_it_was_sent(client, login, acme, ref):
    login(acme.dave)
    response = ask_from_the_form(client, ref)
    (request,) = db.session.scalars(select(CreditRequest)).all()
    assert (request.reason, request.amount, request.subject) == ("short", 150, "Printer on fire")
    assert request.requester_id == acme.dave.id and request.priority.name == "Urgent"
    assert "/portal/tickets/new?draft=" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert "Your request for 150 credits was sent to Carol Carter." in page
    assert 'value="Printer on fire"' in page  # the ticket is kept as a draft meanwhile
    (notice,) = notices_of(acme.carol)
    assert (
        notice.text
        == "Dave Dunn asks for 150 credits for “Printer on fire” (Urgent): Acme's shared bank is short."
    )
    assert notice.link == f"/billing/?request={request.id}"
    (mail,) = mails("credit_request")
    assert (mail.to_addr, mail.subject) == ("carol@example.com", "Dave Dunn asks for 150 credits")
    assert '"Printer on fire"' in mail.body_text and f"/billing/?request={request.id}" in mail.body_text
    assert notices_of(acme.dave) == []


def test_the_same_request_again_is_not_sent_twice(client, login, acme, ref):
    login(acme.dave)
    ask_from_the_form(client, ref)
    response = ask_from_the_form(client, ref)
    page = client.get(response.location).get_data(as_text=True)
    assert "You already asked for this: Carol Carter has your request." in page
    assert db.session.scalar(select(func.count(CreditRequest.id))) == 1
    assert len(notices_of(acme.carol)) == 1 and len(mails("credit_request")) == 1


def test_a_member_asks_at_most_five_times_an_hour(client, login, acme, ref):
    login(acme.dave)
    for n in range(6):
        response = ask_from_the_form(client, ref, subject=f"Problem {n}", key=f"k{n}")
    page = client.get(response.location).get_data(as_text=True)
    assert "You sent 5 requests in the last hour" in page
    assert db.session.scalar(select(func.count(CreditRequest.id))) == 5


def test_nothing_is_asked_when_the_bank_covers_the_priority(client, login, acme, ref):
    login(acme.dave)
    response = ask_from_the_form(client, ref, wanted="Normal")
    assert "Normal is covered now: submit your ticket." in client.get(response.location).get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count(CreditRequest.id))) == 0


def test_a_customer_with_their_own_bank_cannot_ask(client, login, make, ref):
    alice = make.customer()
    bank("Pay as you go", 0, user=alice)
    login(alice)
    response = client.post("/portal/credit-requests", data={"amount": 100})
    assert "Only members who spend from their organization" in client.get(response.location).get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count(CreditRequest.id))) == 0


def test_an_organization_without_a_manager_has_nobody_to_ask(client, login, make, ref):
    org = make.OrganizationFactory()
    bank("Pay as you go", 0, organization=org)
    login(make.customer(organization=org))
    response = client.post("/portal/credit-requests", data={"amount": 100})
    assert "no manager to ask" in client.get(response.location).get_data(as_text=True)


@pytest.fixture
def shop(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)


def test_the_billing_page_lets_a_member_ask_a_manager(client, login, acme, ref):
    login(acme.dave)
    page = client.get("/billing/").get_data(as_text=True)
    assert 'action="/portal/credit-requests"' in page and "Credits needed" in page
    response = client.post("/portal/credit-requests", data={"amount": 300, "subject": "Quarter close"})
    assert response.location.endswith("/billing/")
    assert "Your request for 300 credits was sent to Carol Carter." in client.get("/billing/").get_data(
        as_text=True
    )
    assert notices_of(acme.carol)[0].text.startswith("Dave Dunn asks for 300 credits for “Quarter close”")
    bad = client.post("/portal/credit-requests", data={"amount": 0})
    assert "Say how many credits you need" in client.get(bad.location).get_data(as_text=True)


def test_the_manager_sees_the_notice_and_the_request_with_the_pack_that_covers_it(
    client, login, acme, ref, make, shop
):
    bs.pack("Starter", credits=500, price=5000)
    bs.pack("Tiny", credits=100, price=1500)
    login(acme.dave)
    ask_from_the_form(client, ref)
    request = db.session.scalar(select(CreditRequest))
    login(acme.carol)
    nav = client.get("/portal/tickets").get_data(as_text=True)
    assert "Notifications (1)" in nav and ">Organization</a>" in nav
    notices = client.get("/notices/").get_data(as_text=True)
    assert f'<a href="/billing/?request={request.id}">Dave Dunn asks for 150 credits' in notices
    page = client.get(f"/billing/?request={request.id}").get_data(as_text=True)
    assert "Dave Dunn asks for <strong>150 credits</strong> for “Printer on fire” (Urgent)" in page
    assert "The Starter pack (500 credits) covers it." in page and "Covers Dave Dunn's request" in page
    # The request is the managers' only: another organization's manager sees nothing of it.
    other = make.OrganizationFactory()
    bank("Pay as you go", 0, organization=other)
    login(make.customer(organization=other, is_org_manager=True))
    assert "Printer on fire" not in client.get(f"/billing/?request={request.id}").get_data(as_text=True)


def test_members_have_no_notifications_entry(client, login, acme):
    login(acme.dave)
    page = client.get("/portal/tickets").get_data(as_text=True)
    assert "Notifications" not in page and ">Organization</a>" not in page
    assert client.get("/portal/organization/usage").status_code == 404
    typed = client.get("/notices/").get_data(as_text=True)  # the address typed by hand
    assert "News of your tickets comes by e-mail" in typed and "asks for credits" not in typed
    login(acme.carol)
    assert "When a member of your organization asks for credits" in client.get("/notices/").get_data(
        as_text=True
    )


def set_cap(client, member, value):
    return client.post(f"/portal/organization/members/{member.id}/cap", data={"monthly_cap": value})


def test_a_manager_sets_a_member_s_monthly_cap_and_it_is_recorded(client, login, acme):
    login(acme.carol)
    response = set_cap(client, acme.dave, "200")
    assert response.location.endswith(f"/portal/organization/usage#member-{acme.dave.id}")
    page = client.get("/portal/organization/usage").get_data(as_text=True)
    assert (
        "Dave Dunn: 200 credits a month." in page and 'value="200"' in page and "200 left this month" in page
    )
    set_cap(client, acme.dave, "")
    assert "Dave Dunn: no limit." in client.get("/portal/organization/usage").get_data(as_text=True)
    changes = db.session.scalars(
        select(CreditSettingChange)
        .where(CreditSettingChange.subject == "member_cap")
        .order_by(CreditSettingChange.id)
    ).all()
    assert [(c.actor_id, c.subject_id, c.old_value, c.new_value) for c in changes] == [
        (acme.carol.id, acme.dave.id, None, "200"),
        (acme.carol.id, acme.dave.id, "200", None),
    ]


@pytest.mark.parametrize("who", ["manager", "stranger", "negative"])
def test_caps_are_only_for_members_and_only_by_their_managers(client, login, acme, make, who):
    login(acme.carol)
    if who == "manager":
        target = make.customer(organization=acme.org, is_org_manager=True)
        message = "Managers have no monthly limit"
        response = set_cap(client, target, "10")
    elif who == "stranger":
        target = make.customer()
        message = "Choose a member of your organization"
        response = set_cap(client, target, "10")
    else:
        message = "A limit is a whole number of credits"
        response = set_cap(client, acme.dave, "-5")
    # refused in the page itself (422), the value typed still in the field, nothing recorded
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    if who == "negative":
        assert 'value="-5"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CreditSettingChange.id))) == 0


def test_a_member_cannot_set_caps(client, login, acme):
    login(acme.dave)
    assert set_cap(client, acme.dave, "1000").status_code == 404


@pytest.fixture
def capped(client, login, acme, ref):
    """Acme's bank holds 1,000 credits; Dave may spend 300 a month and has spent 150 (a High ticket)."""
    credits.post_entry(acme.bank.id, 900, "adjustment", idempotency_key="test:top-up")
    db.session.commit()
    login(acme.carol)
    set_cap(client, acme.dave, "300")
    login(acme.dave)
    data = draft_form(ref, key="high-1") | {"priority": ref.priorities["High"].id}
    assert client.post("/portal/tickets/new", data=data).status_code == 302
    return acme


def test_a_member_over_the_cap_is_told_why_and_may_ask_for_more(client, capped, ref):
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    urgent = ref.priorities["Urgent"].id
    assert "Over your monthly limit by 100 credits." in page
    assert f'formaction="/portal/tickets/new/draft?then=ask&amp;wanted={urgent}"' in page
    quote = client.get(f"/portal/tickets/new/quote?priority={urgent}", headers={"HX-Request": "true"})
    assert "over your monthly limit by 100 credits (150 left this month)" in quote.get_data(as_text=True)
    response = ask_from_the_form(client, ref, subject="Server room flooded", key="ask-cap")
    assert "Your request for 100 more credits was sent to Carol Carter." in client.get(
        response.location
    ).get_data(as_text=True)
    request = db.session.scalar(select(CreditRequest))
    assert (request.reason, request.amount) == ("cap", 100)
    notice = notices_of(capped.carol)[0]
    assert "asks for 100 more credits this month" in notice.text and "monthly limit is reached" in notice.text
    assert notice.link == f"/portal/organization/usage#member-{capped.dave.id}"
    assert "has reached the monthly limit you set" in mails("credit_request")[0].body_text


def test_a_submission_over_the_cap_is_refused_and_charges_nothing(client, capped, ref):
    data = draft_form(ref, key="urgent-1") | {"priority": ref.priorities["Urgent"].id}
    page = client.post("/portal/tickets/new", data=data).get_data(as_text=True)
    assert "Over your monthly limit: Acme&#39;s managers let you spend 300 credits a month" in page
    assert "you have spent 150 this month and this needs 250" in page
    assert "Nothing was charged and no ticket was created." in page
    assert db.session.scalar(select(func.count(Ticket.id))) == 1 and balance_of(capped.bank) == 850


def test_a_member_short_of_credits_is_told_to_ask_a_manager_not_to_buy(client, login, acme, ref):
    login(acme.dave)  # Acme's bank holds 100; Dave may not buy for it
    data = draft_form(ref, key="urgent-short") | {"priority": ref.priorities["Urgent"].id}
    page = " ".join(client.post("/portal/tickets/new", data=data).get_data(as_text=True).split())
    assert (
        "Ask a manager for credits or choose a lower priority. Nothing was charged and no ticket was created."
        in page
    )
    assert "Buy credits or choose" not in page
    data = draft_form(ref, key="normal-1") | {"priority": ref.priorities["Normal"].id}
    client.post("/portal/tickets/new", data=data)
    ticket = db.session.scalar(select(Ticket))
    response = client.post(
        f"/portal/tickets/{ticket.id}/priority", data={"priority": ref.priorities["Urgent"].id}
    )
    page = " ".join(client.get(response.location).get_data(as_text=True).split())
    assert "Ask a manager for credits or choose a lower priority. Nothing was charged." in page
    assert "no ticket was created" not in page  # an upgrade creates none


def test_an_agent_opening_a_ticket_over_the_member_s_cap_is_told_what_they_can_do(
    client, login, make, capped, ref
):
    login(make.technician(ref.categories["IT"], name="Ivan IT"))
    form = {
        "customer_email": "dave@example.com",
        "customer_name": "",
        "category": ref.categories["IT"].id,
        "priority": ref.priorities["Urgent"].id,
        "consent": "y",
        "subject": "Called: server room flooded",
        "body": "Water under the racks.",
        "submission_key": "phone-cap",
    }
    page = client.post("/agent/tickets/new", data=form).get_data(as_text=True)
    assert (
        "Urgent priority (250 credits) is over Dave Dunn&#39;s monthly limit on their organization&#39;s"
        " bank (a manager of the organization can raise it). Choose another priority, or leave the box"
        " unticked to give it at no charge. Nothing was charged and no ticket was opened." in page
    )
    assert "Ask a manager for more" not in page  # the customer's wording
    assert db.session.scalar(select(func.count(Ticket.id))) == 1 and balance_of(capped.bank) == 850


def test_the_cap_is_checked_by_the_service_whatever_the_form_says(capped, ref):
    from helpdesk.credits import submission
    from helpdesk.credits.members import OverCap

    with pytest.raises(OverCap, match="you have spent 150 this month and this needs 250"):
        submission.submit_ticket(
            capped.dave,
            subject="Forced",
            body="x",
            category_id=ref.categories["IT"].id,
            priority_id=ref.priorities["Urgent"].id,
            submission_key="forced",
        )


def test_an_upgrade_over_the_cap_is_refused(client, login, capped, ref):
    login(capped.carol)
    set_cap(client, capped.dave, "200")  # 150 spent: the 100 more for Urgent would make 250
    login(capped.dave)
    ticket = db.session.scalar(select(Ticket))
    response = client.post(
        f"/portal/tickets/{ticket.id}/priority", data={"priority": ref.priorities["Urgent"].id}
    )
    assert "Over your monthly limit" in client.get(response.location).get_data(as_text=True)
    assert balance_of(capped.bank) == 850 and db.session.get(Ticket, ticket.id).priority.name == "High"


def test_a_manager_raising_a_member_s_ticket_is_not_held_to_the_member_s_limit(client, login, capped, ref):
    login(capped.carol)
    set_cap(client, capped.dave, "200")  # Dave may not add the 100 that Urgent needs
    ticket = db.session.scalar(select(Ticket))
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "Over your monthly limit" not in page
    urgent = ref.priorities["Urgent"].id
    assert f'id="priority-{urgent}" name="priority" value="{urgent}"' in page
    client.post(f"/portal/tickets/{ticket.id}/priority", data={"priority": urgent})
    assert db.session.get(Ticket, ticket.id).priority.name == "Urgent" and balance_of(capped.bank) == 750


def test_the_manager_is_never_capped_and_raising_the_cap_frees_the_member(client, login, capped, ref):
    login(capped.carol)
    quote = credit_quotes.quote_for(capped.carol, ref.priorities["Urgent"].id)
    assert quote.available and quote.cap_left is None
    set_cap(client, capped.dave, "1000")
    login(capped.dave)
    data = draft_form(ref, key="urgent-2") | {"priority": ref.priorities["Urgent"].id}
    assert client.post("/portal/tickets/new", data=data).status_code == 302
    assert balance_of(capped.bank) == 600


def test_the_shared_statement_shows_who_spent_each_charge(client, login, capped, ref, make):
    login(capped.carol)
    data = draft_form(ref, key="carol-1") | {"priority": ref.priorities["High"].id}
    client.post("/portal/tickets/new", data=data)
    page = client.get("/portal/credits").get_data(as_text=True)
    assert '<th scope="col">Spent by</th>' in page
    assert (
        page.count("<td hx-disable>Dave Dunn</td>") == 1
        and page.count("<td hx-disable>Carol Carter</td>") == 1
    )
    rows = spreadsheet_records(client.get("/portal/credits/statement.csv"))
    assert sorted(r["spent_by"] for r in rows if r["kind"] == "charge") == ["Carol Carter", "Dave Dunn"]
    assert all(r["spent_by"] == "" for r in rows if r["kind"] != "charge")


def test_a_personal_statement_has_no_spent_by_column(client, login, make, ref):
    alice = make.customer()
    bank("Business", 1000, user=alice)
    login(alice)
    assert "Spent by" not in client.get("/portal/credits").get_data(as_text=True)


def test_agent_time_on_a_member_s_ticket_is_the_member_s_spending(capped, ref, make):
    from helpdesk.credits import members

    ticket = db.session.scalar(select(Ticket))
    agent = make.technician(ref.categories["IT"])
    credits.post_entry(
        capped.bank.id, -30, "charge", idempotency_key="time:test", actor=agent, ticket=ticket, memo="30 min"
    )
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "charge")).all()
    assert {e.memo: who.name for e, who in ((e, members.spenders(entries)[e.id]) for e in entries)} == {
        f"High priority for ticket #{ticket.id}": "Dave Dunn",
        "30 min": "Dave Dunn",
    }
    assert members.spent_by(capped.bank, capped.dave.id) == 180


def spend(member, ref, when, priority, key):
    """`member` submits a ticket at `priority` at the time `when` (through the service)."""
    from helpdesk.credits import submission

    with time_machine.travel(when, tick=False):
        submission.submit_ticket(
            member,
            subject=f"Ticket {key}",
            body="x",
            category_id=ref.categories["IT"].id,
            priority_id=ref.priorities[priority].id,
            submission_key=key,
        )
    db.session.commit()


def test_the_usage_summary_per_member_and_month_page_and_csv(client, login, acme, ref):
    credits.post_entry(acme.bank.id, 2000, "adjustment", idempotency_key="test:top-up")
    spend(acme.dave, ref, datetime(2026, 10, 31, 23, 59, tzinfo=UTC), "High", "oct")
    spend(acme.dave, ref, datetime(2026, 11, 20, 12, tzinfo=UTC), "Urgent", "nov-1")
    spend(acme.dave, ref, datetime(2026, 11, 30, 23, 59, tzinfo=UTC), "High", "nov-2")
    spend(acme.carol, ref, datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "High", "dec")
    login(acme.carol)
    november = client.get("/portal/organization/usage?month=2026-11").get_data(as_text=True)
    assert "2026-11 (UTC)" in november and 'href="/portal/organization/usage?month=2026-10"' in november
    assert 'href="/portal/organization/usage?month=2026-12"' in november
    dave_row = november.split(f'id="member-{acme.dave.id}"')[1].split("</tr>")[0]
    assert [c.split("<")[0] for c in dave_row.split('<td class="num">')[1:]] == ["2", "400", "0", "400"]
    rows = spreadsheet_records(client.get("/portal/organization/usage.csv?month=2026-12"))
    assert [(r["month"], r["member"], r["tickets"], r["net_spent"], r["monthly_limit"]) for r in rows] == [
        ("2026-12", "Carol Carter", "1", "150", ""),
        ("2026-12", "Dave Dunn", "0", "0", ""),
    ]
    this_month = datetime.now(UTC).strftime("%Y-%m")
    assert f"{this_month} (UTC)" in client.get("/portal/organization/usage?month=2026-13").get_data(
        as_text=True
    )
    assert "Next month" not in client.get("/portal/organization/usage").get_data(as_text=True)


def test_a_member_who_left_is_named_so_on_the_usage_page(client, login, acme, ref, make):
    """What a former member spent this month stays on the page, said to be a former member's: not
    "(manager)" because they manage another organization now, nor "No limit" as if they could
    still spend from the shared bank without one."""
    from helpdesk.accounts import organizations

    month = datetime.now(UTC)
    credits.post_entry(acme.bank.id, 500, "adjustment", idempotency_key="test:top-up")
    spend(acme.dave, ref, month, "High", "before-leaving")
    admin = make.admin()
    organizations.remove_member(admin, acme.org, acme.dave)
    beta = make.OrganizationFactory(name="Beta")
    organizations.add_member(admin, beta, acme.dave.email, confirmed=True)
    organizations.set_manager(admin, beta, acme.dave, True)
    db.session.commit()
    login(acme.carol)
    page = client.get("/portal/organization/usage").get_data(as_text=True)
    dave_row = page.split(f'id="member-{acme.dave.id}"')[1].split("</tr>")[0]
    assert "Dave Dunn (no longer a member)" in dave_row and "(manager)" not in dave_row
    assert "No limit" not in dave_row and "Not a member now" in dave_row and "150" in dave_row
    carol_row = page.split(f'id="member-{acme.carol.id}"')[1].split("</tr>")[0]
    assert "Carol Carter (manager)" in carol_row and "No limit" in carol_row


@pytest.mark.postgres_only
@pytest.mark.committing
def test_ten_simultaneous_urgent_submissions_never_pass_the_cap(app, make, ref):
    import threading

    from helpdesk.accounts.models import User
    from helpdesk.credits import members, submission
    from helpdesk.errors import InsufficientCredits

    org = make.OrganizationFactory()
    shared = bank("Pay as you go", 10_000, organization=org)
    manager = make.customer(organization=org, is_org_manager=True)
    member = make.customer(organization=org)
    members.set_cap(manager, shared, member.id, 500)
    db.session.commit()
    member_id, category_id, urgent_id = member.id, ref.categories["IT"].id, ref.priorities["Urgent"].id
    barrier, outcomes = threading.Barrier(10), []

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                submission.submit_ticket(
                    db.session.get(User, member_id),
                    subject=f"Outage {i}",
                    body="Down",
                    category_id=category_id,
                    priority_id=urgent_id,
                    submission_key=f"cap-race-{i}",
                )
                db.session.commit()
                outcomes.append("ok")
            except InsufficientCredits:
                db.session.rollback()
                outcomes.append("over")
            finally:
                db.session.remove()

    run_at_once(run, range(10))
    assert sorted(outcomes) == ["ok"] * 2 + ["over"] * 8
    assert balance_of(shared) == 9_500 and members.spent_by(shared, member_id) == 500
    assert db.session.scalar(select(func.count(Ticket.id))) == 2


@pytest.mark.parametrize(
    "month, reason",
    [
        ("2026-13", "“2026-13” is not a month: write it as YYYY-MM, for example {now}."),
        ("abc", "“abc” is not a month: write it as YYYY-MM, for example {now}."),
        ("0000-01", "“0000-01” is not a month: write it as YYYY-MM, for example {now}."),
        ("9999-12", "9999-12 has not begun yet: there is no usage to show for it."),
    ],
)
def test_a_month_that_is_not_one_is_refused_with_the_reason(client, login, acme, month, reason):
    now = datetime.now(UTC).strftime("%Y-%m")
    reason = reason.format(now=now)
    login(acme.carol)
    page = client.get(f"/portal/organization/usage?month={month}").get_data(as_text=True)
    assert (
        f'<div class="form-errors" role="alert"><p>{reason}</p><p>Showing {now} (this month) instead.</p>'
        in page
    )
    assert f"{now} (UTC)" in page
    csv = client.get(f"/portal/organization/usage.csv?month={month}")
    assert csv.status_code == 400 and csv.mimetype == "text/plain"
    assert csv.get_data(as_text=True) == (
        f"This CSV was not made: its month was refused.\n{reason}\n"
        "Choose the month on the usage page (Organization) and download it from there.\n"
    )


def test_the_first_month_there_is_has_no_previous_one(client, login, acme):
    login(acme.carol)
    page = client.get("/portal/organization/usage?month=0001-01").get_data(as_text=True)
    assert "0001-01 (UTC)" in page and "Previous month" not in page and "form-errors" not in page


def test_a_member_who_left_cannot_raise_an_old_ticket_on_the_shared_bank(client, login, acme, ref, make):
    """Dave's High ticket was paid from Acme's shared bank; once he has left Acme, raising it to
    Urgent would spend Acme's credits again: the ticket page no longer offers it and says why, and
    a form sent anyway (a page shown before he left) is refused with that reason, nothing charged.
    Carol, Acme's manager, still raises it from the shared bank."""
    from helpdesk.accounts import organizations

    bank("Pay as you go", 500, user=acme.dave)  # his own bank: it does not pay for Acme's tickets either
    credits.post_entry(acme.bank.id, 500, "adjustment", idempotency_key="test:top-up")
    spend(acme.dave, ref, datetime.now(UTC), "High", "before-leaving")
    ticket = db.session.scalar(select(Ticket).where(Ticket.subject == "Ticket before-leaving"))
    organizations.remove_member(make.admin(), acme.org, acme.dave)
    db.session.commit()
    login(acme.dave)
    page = html.unescape(client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True))
    assert "Upgrade priority" not in page
    assert "paid from Acme's shared bank, which you no longer belong to" in page
    refused = client.post(
        f"/portal/tickets/{ticket.id}/priority",
        data={"priority": ref.priorities["Urgent"].id},
        follow_redirects=True,
    )
    assert "paid from Acme's shared bank, which you no longer belong to" in html.unescape(
        refused.get_data(as_text=True)
    )
    db.session.expire_all()
    assert balance_of(acme.bank) == 450 and db.session.get(Ticket, ticket.id).priority.name == "High"
    login(acme.carol)
    assert "Upgrade priority" in client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    client.post(f"/portal/tickets/{ticket.id}/priority", data={"priority": ref.priorities["Urgent"].id})
    db.session.expire_all()
    assert balance_of(acme.bank) == 350 and db.session.get(Ticket, ticket.id).priority.name == "Urgent"
