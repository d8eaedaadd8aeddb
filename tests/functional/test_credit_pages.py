"""Credit features through HTTP: quotes, paid submission, upgrades, statement, banners, admin, agents."""

import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from helpdesk.credits import ledger as credits
from helpdesk.credits.models import CreditSettingChange, LedgerEntry, TimeEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle
from helpdesk.tickets.models import Ticket
from helpdesk.web import relative_label
from tests.credit_helpers import balance_of, bank, plan
from tests.csv_support import spreadsheet_rows
from tests.markup_checks import markup_problems

HX = {"HX-Request": "true"}


def ticket_form(ref, priority="Urgent", key="sub-1", **extra):
    """Each key is another ticket: its description says which (the same text from another form
    within minutes is asked about first: test_resubmit.py)."""
    data = {
        "category": ref.categories["IT"].id,
        "priority": ref.priorities[priority].id,
        "subject": "Mail server down",
        "body": f"Nobody can send mail. (Form {key}.)",
        "submission_key": key,
    }
    data.update(extra)
    return data


@pytest.fixture
def alice(make, ref, login):
    user = make.customer(timezone="Europe/Berlin")
    bank("Business", 1000, user=user)
    login(user)
    return user


def test_new_ticket_lists_plan_priorities_with_target_and_cost(client, alice, ref):
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    assert "Urgent — response within 1 h of business hours — 250 credits" in page
    assert "Low — response within 3 days of business hours — free" in page


def test_quote_fragment_for_htmx(client, alice, ref):
    response = client.get(f"/portal/tickets/new/quote?priority={ref.priorities['Urgent'].id}", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "HX-Request" in response.headers["Vary"]
    assert "Urgent: 250 credits" in body and "balance 1,000 → 750" in body and "response by" in body


def test_quote_without_htmx_goes_back_to_the_form_with_the_choice(client, alice, ref):
    response = client.get(f"/portal/tickets/new/quote?priority={ref.priorities['High'].id}")
    assert response.status_code == 302 and f"priority={ref.priorities['High'].id}" in response.location


def test_paid_submission_creates_ticket_and_charge(client, alice, ref):
    response = client.post("/portal/tickets/new", data=ticket_form(ref))
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert balance_of(credits.account_for(alice)) == 750
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "250 credits" in page and "Response by" in page


def test_double_submission_charges_once(client, alice, ref):
    first = client.post("/portal/tickets/new", data=ticket_form(ref))
    second = client.post("/portal/tickets/new", data=ticket_form(ref), follow_redirects=True)
    assert first.status_code == 302 and "was already submitted" in second.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Ticket.id))) == 1
    assert balance_of(credits.account_for(alice)) == 750


def test_a_price_raised_after_the_form_was_shown_is_asked_about_not_charged(client, alice, ref):
    """The form says "Urgent: 250 credits"; an admin raises Urgent to 400 before the customer
    submits: nothing is charged that the customer was not shown. The form comes back with the new
    price, what was typed and attached kept, and submitting it then charges 400, once."""
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    assert "Urgent — response within 1 h of business hours — 250 credits" in page
    data = ticket_form(ref) | {"submission_key": hidden_inputs(page)["submission_key"]}
    data |= {k: v for k, v in hidden_inputs(page).items() if k not in data}  # what the page carries
    ref.priorities["Urgent"].credit_cost = 400  # the admin's save, between the page and the submit
    db.session.commit()
    response = client.post(
        "/portal/tickets/new",
        data=data | {"attachments": (io.BytesIO(b"log line\n"), "mail.log")},
        content_type="multipart/form-data",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Urgent costs 400 credits now, not the 250 this form showed" in body
    assert "Nothing was charged and no ticket was created" in body
    assert "Mail server down" in body and "mail.log" in body  # nothing typed or attached is lost
    assert "Urgent — response within 1 h of business hours — 400 credits" in body
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert balance_of(credits.account_for(alice)) == 1000
    again = client.post("/portal/tickets/new", data=data | hidden_inputs(body))  # submitted as shown now
    assert again.status_code == 302
    (ticket,) = db.session.scalars(select(Ticket)).all()
    assert [a.filename for a in ticket.attachments] == ["mail.log"]
    assert balance_of(credits.account_for(alice)) == 600


def test_short_customer_sees_disabled_option_and_keeps_the_form(client, make, ref, login):
    carol = make.customer()
    bank("Pay as you go", 100, user=carol)
    login(carol)
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    assert "Short by 150 credits" in page and 'href="/billing/"' in page
    assert f'value="{ref.priorities["Urgent"].id}" disabled' in page
    response = client.post(
        "/portal/tickets/new",
        data=ticket_form(ref, attachments=(io.BytesIO(b"log line\n"), "vpn.log")),
        content_type="multipart/form-data",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Not enough credits for Urgent priority" in body
    assert body.count("Not enough credits") == 1 and "This needs 250, the balance is 100" in body
    assert "Mail server down" in body and "Nobody can send mail." in body and "vpn.log" in body
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "charge")) == 0


def test_customer_upgrades_an_open_ticket(client, alice, ref):
    client.post("/portal/tickets/new", data=ticket_form(ref, priority="High"))
    ticket = db.session.scalar(select(Ticket))
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "Choose a priority to see what it costs and promises." in page  # not an error before a choice
    assert (
        "Upgrade the priority" in page
        and "Urgent — response within 1 h of business hours — 100 credits" in page
    )
    quote = client.get(
        f"/portal/tickets/{ticket.id}/upgrade-quote?priority={ref.priorities['Urgent'].id}", headers=HX
    ).get_data(as_text=True)
    assert "Urgent: 100 credits" in quote and "850 → 750" in quote
    response = client.post(
        f"/portal/tickets/{ticket.id}/priority", data={"priority": ref.priorities["Urgent"].id}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).priority.name == "Urgent"
    assert balance_of(credits.account_for(alice)) == 750


def _quoted_times(fragment):
    return {
        word: datetime.fromisoformat(stamp)
        for word, stamp in re.findall(r'(response|resolved) by <time datetime="([^"]+)"', fragment)
    }


def test_an_upgrade_of_a_two_day_old_ticket_is_quoted_from_now(client, alice, ref):
    client.post("/portal/tickets/new", data=ticket_form(ref, priority="Normal"))
    ticket = db.session.scalar(select(Ticket))
    with time_machine.travel(utcnow() + timedelta(days=2), tick=False):
        quote = client.get(
            f"/portal/tickets/{ticket.id}/upgrade-quote?priority={ref.priorities['Urgent'].id}", headers=HX
        ).get_data(as_text=True)
        times = _quoted_times(quote)
        assert abs(times["response"] - (utcnow() + timedelta(hours=1))) < timedelta(minutes=1)  # not the past


def test_an_answered_ticket_is_offered_only_a_faster_resolution(client, alice, make, ref):
    ref.priorities["Urgent"].resolution_minutes = 240
    db.session.commit()
    client.post("/portal/tickets/new", data=ticket_form(ref, priority="Normal"))
    ticket = db.session.scalar(select(Ticket))
    lifecycle.add_message(ticket, make.technician(ref.categories["IT"]), "Looking into it.")
    db.session.commit()
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "Urgent — " in page and "High — " not in page  # High only promises a faster first reply
    quote = client.get(
        f"/portal/tickets/{ticket.id}/upgrade-quote?priority={ref.priorities['Urgent'].id}", headers=HX
    ).get_data(as_text=True)
    assert set(_quoted_times(quote)) == {"resolved"}
    refused = client.post(
        f"/portal/tickets/{ticket.id}/priority",
        data={"priority": ref.priorities["High"].id},
        follow_redirects=True,
    )
    assert "This ticket has been answered" in refused.get_data(as_text=True)
    assert balance_of(credits.account_for(alice)) == 1000
    client.post(f"/portal/tickets/{ticket.id}/priority", data={"priority": ref.priorities["Urgent"].id})
    assert balance_of(credits.account_for(alice)) == 750


def test_an_upgrade_sent_after_the_ticket_closed_says_why_in_words_the_customer_can_act_on(
    client, alice, ref
):
    """The upgrade form of a page opened before the ticket was closed (another tab, an agent)."""
    client.post("/portal/tickets/new", data=ticket_form(ref, priority="High"))
    ticket = db.session.scalar(select(Ticket))
    ticket.status = "closed"
    db.session.commit()
    refused = client.post(
        f"/portal/tickets/{ticket.id}/priority",
        data={"priority": ref.priorities["Urgent"].id},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "This ticket is closed: its priority cannot change. Reopen it, or open a new ticket" in refused
    assert balance_of(credits.account_for(alice)) == 850  # only the High priority it was sent with


def test_statement_pages_and_csv(client, alice, app):
    account = credits.account_for(alice)
    for i in range(30):
        credits.post_entry(account.id, -1, "charge", idempotency_key=f"s{i}", memo=f"=cmd{i}")
    db.session.commit()
    first = client.get("/portal/credits").get_data(as_text=True)
    assert "Business" in first and "970 credits" in first and "Page 1 of 2" in first
    fragment = client.get("/portal/credits?page=2", headers=HX)
    assert "<html" not in fragment.get_data(as_text=True) and "Page 2 of 2" in fragment.get_data(as_text=True)
    rows = spreadsheet_rows(client.get("/portal/credits/statement.csv"))
    assert rows[0][:4] == ["date_utc", "kind", "amount", "balance_after"] and len(rows) == 32
    assert rows[1][3] == "970" and rows[1][5] == "'=cmd29"


def test_the_statement_csv_reads_right_in_a_spreadsheet(client, alice):
    """Without a byte-order mark Excel read the UTF-8 in its legacy code page: "â€œZoÃ«â€" for
    “Zoë”. The mark is shared by every download (csvexport), and a formula is still defused."""
    account = credits.account_for(alice)
    credits.post_entry(account.id, -5, "charge", idempotency_key="quoted", memo="“Zoë’s” VPN – fixed")
    credits.post_entry(account.id, -1, "charge", idempotency_key="formula", memo="=HYPERLINK(1)")
    db.session.commit()
    rows = spreadsheet_rows(client.get("/portal/credits/statement.csv"))
    assert rows[0][0] == "date_utc"
    assert [row[5] for row in rows[1:3]] == ["'=HYPERLINK(1)", "“Zoë’s” VPN – fixed"]


def test_org_members_see_the_shared_bank(client, make, ref, login):
    org = make.OrganizationFactory(name="Acme")
    dave = make.customer(organization=org)
    bank("Pay as you go", 500, organization=org)
    login(dave)
    page = client.get("/portal/credits").get_data(as_text=True)
    assert "Acme" in page and "shared by your organization" in page and "500 credits" in page


def test_low_balance_banner_once_per_crossing(client, make, ref, login):
    carol = make.customer()
    bank("Pay as you go", 400, user=carol)
    login(carol)
    client.post(
        "/portal/tickets/new", data=ticket_form(ref, key="a")
    )  # 150 left: at the cheapest paid priority
    page = client.get("/portal/tickets").get_data(as_text=True)
    assert "Low credit balance: 150 credits left" in page
    client.post("/portal/tickets/new", data=ticket_form(ref, priority="High", key="b"))  # 0 left
    page = client.get("/portal/tickets").get_data(as_text=True)
    assert "Low credit balance: 0 credits left" in page
    kinds = db.session.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.id)).all()
    assert kinds.count("charge") == 2
    from helpdesk.credits.models import CreditAlert

    levels = db.session.scalars(select(CreditAlert.level).order_by(CreditAlert.id)).all()
    assert levels == [1, 3]  # stages reached: the cheapest paid priority, then zero (the 25% stage too)


def test_the_low_balance_banner_is_the_bank_the_customer_spends_from(app, client, make, ref, login):
    """Members of an organization with a shared bank see its state, not their own bank's; a page of
    a bank that is not low reads no bank (its stage comes with the layout's one query of counts)."""
    from sqlalchemy import event

    org = make.OrganizationFactory(name="Acme")
    dave, erin = make.customer(organization=org), make.customer(organization=org)
    shared = bank("Pay as you go", 300, organization=org)
    own = bank("Pay as you go", 300, user=erin)  # hers alone: the shared bank is the one she spends from
    credits.post_entry(own.id, -250, "charge", idempotency_key="own")
    frank = make.customer()
    bank("Pay as you go", 5000, user=frank)
    db.session.commit()
    login(erin)
    assert "Low credit balance" not in client.get("/portal/tickets").get_data(as_text=True)

    credits.post_entry(shared.id, -250, "charge", idempotency_key="shared")
    db.session.commit()
    for member in (dave, erin):
        login(member)
        assert "Low credit balance: 50 credits left" in client.get("/kb/").get_data(as_text=True)

    login(frank)
    read = []

    def record(conn, cursor, statement, *args):
        if "FROM credit_accounts" in statement and "AS bank_low_stage" not in statement:
            read.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = client.get("/kb/").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert "Low credit balance" not in page
    assert read == []


def test_agents_see_the_customer_low_balance_alert(client, make, ref, login):
    carol = make.customer()
    account = bank("Pay as you go", 300, user=carol)
    credits.post_entry(account.id, -200, "charge", idempotency_key="x")
    db.session.commit()
    ticket = make.ticket(requester=carol, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    login(make.admin())
    panel = client.get(f"/agent/credits/tickets/{ticket.id}", headers=HX).get_data(as_text=True)
    assert "<html" not in panel and "Customer's bank is low" in panel


def test_agent_logs_time_through_the_panel(client, make, ref, login):
    customer = make.customer()
    account = bank("Time bank", 600, user=customer)
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    tech = make.technician(ref.categories["IT"])
    login(tech)
    response = client.post(
        f"/agent/credits/tickets/{ticket.id}/time",
        data={"minutes": 25, "note": "Reset", "submission_key": "log-1"},
        headers=HX,
    )
    assert response.status_code == 200 and "25 min, 25 credits" in response.get_data(as_text=True)
    login(customer)  # the customer's ticket says what the time cost them
    portal = " ".join(client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True).split())
    assert "<dt>Paid</dt> <dd>25 credits" in portal
    login(tech)
    entry = db.session.scalar(select(TimeEntry))
    client.post(f"/agent/credits/time/{entry.id}/edit", data={"minutes": 20, "note": "Reset"})
    client.post(f"/agent/credits/time/{entry.id}/delete", data={"confirmed_action": "yes"})
    assert balance_of(account) == 600


@pytest.mark.parametrize("url", ["/admin/credits/", "/admin/credits/plans", "/agent/credits/tickets/1"])
def test_customers_cannot_reach_agent_or_admin_credit_pages(client, alice, url):
    assert client.get(url).status_code == 404


def test_admin_adjustment_needs_a_reason_and_is_attributed(client, make, ref, login):
    customer = make.customer()
    account = bank("Pay as you go", 100, user=customer)
    admin = make.admin()
    login(admin)
    refused = client.post(
        f"/admin/credits/banks/{account.id}/adjust",
        data={"amount": 50, "reason": "", "submission_key": "adjust-1"},
    )
    assert refused.status_code == 200 and balance_of(account) == 100
    client.post(
        f"/admin/credits/banks/{account.id}/adjust",
        data={"amount": 50, "reason": "Goodwill", "submission_key": "adjust-1", "confirmed_action": "yes"},
    )
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.memo == "Goodwill"))
    assert entry.actor_id == admin.id and balance_of(account) == 150
    page = client.get(f"/admin/credits/banks/{account.id}").get_data(as_text=True)
    assert "Goodwill" in page


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "Enter a non-zero amount."),
        ("-500", "Not enough credits: the balance is 100 and this bank may go down to 0, so at most 100"),
    ],
)
def test_an_adjustment_that_cannot_be_booked_is_refused_before_the_question(
    client, make, ref, login, amount, message
):
    account = bank("Pay as you go", 100, user=make.customer())
    login(make.admin())
    page = client.post(
        f"/admin/credits/banks/{account.id}/adjust",
        data={"amount": amount, "reason": "Cleanup", "submission_key": "adjust-1"},
    ).get_data(as_text=True)
    assert message in page and "credits?" not in page  # no "Take 500 credits from ...?" question first
    assert f'value="{amount}"' in page and 'value="Cleanup"' in page and balance_of(account) == 100


def hidden_inputs(page):
    """The hidden inputs of a page, by name (the last one of a name wins)."""
    found = re.findall(r"<input(?=[^>]*type=\"hidden\")[^>]*>", page)
    named = ((re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)) for tag in found)
    return {html.unescape(n.group(1)): html.unescape(v.group(1) if v else "") for n, v in named if n}


def test_an_adjustment_confirmed_twice_is_booked_once(client, make, ref, login):
    """The form's key is made when it is shown and carried through the question, so the same
    confirmation posted twice (a double click without JavaScript, back and resubmit) books once
    and the second answer says so."""
    account = bank("Pay as you go", 100, user=make.customer(name="Bea Bank"))
    login(make.admin())
    url = f"/admin/credits/banks/{account.id}/adjust"
    key = hidden_inputs(client.get(f"/admin/credits/banks/{account.id}").get_data(as_text=True))[
        "submission_key"
    ]
    question = client.post(url, data={"amount": "300", "reason": "goodwill", "submission_key": key})
    confirmation = hidden_inputs(question.get_data(as_text=True))
    assert confirmation["submission_key"] == key and confirmation["confirmed_action"] == "yes"
    first = client.post(url, data=confirmation)
    assert first.status_code == 302 and balance_of(account) == 400
    again = client.post(url, data=confirmation, follow_redirects=True).get_data(as_text=True)
    assert "Already booked: +300 credits for Bea Bank (“goodwill”)" in again
    assert "Nothing was booked again." in again
    assert balance_of(account) == 400
    memos = db.session.scalars(select(LedgerEntry.memo).where(LedgerEntry.account_id == account.id)).all()
    assert memos.count("goodwill") == 1
    # The form as it was (back to it, sent again): said at once, not asked a second time.
    resent = client.post(url, data={"amount": "300", "reason": "goodwill", "submission_key": key})
    assert resent.status_code == 302 and balance_of(account) == 400
    # The page shown afresh has a key of its own: another adjustment is another booking.
    fresh_key = hidden_inputs(client.get(f"/admin/credits/banks/{account.id}").get_data(as_text=True))
    assert fresh_key["submission_key"] != key


def test_a_deduction_confirmed_twice_is_not_refused_the_second_time(client, make, ref, login):
    """Down to the floor once: the second copy finds it booked, instead of 'Not enough credits'."""
    account = bank("Pay as you go", 100, user=make.customer(name="Bea Bank"))
    login(make.admin())
    url = f"/admin/credits/banks/{account.id}/adjust"
    data = {"amount": "-100", "reason": "Cleanup", "submission_key": "form-1", "confirmed_action": "yes"}
    client.post(url, data=data)
    again = client.post(url, data=data, follow_redirects=True).get_data(as_text=True)
    assert "Already booked: -100 credits" in again and "Not enough credits" not in again
    assert balance_of(account) == 0


def test_a_kept_copy_of_the_adjustment_form_books_what_was_typed_into_it(client, make, ref, login):
    """The same key with another amount comes from a kept copy of the page: another adjustment."""
    account = bank("Pay as you go", 100, user=make.customer())
    login(make.admin())
    url = f"/admin/credits/banks/{account.id}/adjust"
    for amount in ("50", "20"):
        data = {"amount": amount, "reason": "Goodwill", "submission_key": "form-1", "confirmed_action": "yes"}
        client.post(url, data=data)
    assert balance_of(account) == 170


def test_an_adjustment_from_a_page_without_a_key_is_refused_and_kept(client, make, ref, login):
    account = bank("Pay as you go", 100, user=make.customer())
    login(make.admin())
    page = client.post(
        f"/admin/credits/banks/{account.id}/adjust",
        data={"amount": "50", "reason": "Goodwill", "confirmed_action": "yes"},
    ).get_data(as_text=True)
    assert "Nothing was booked: this form came from an old page." in page
    assert 'value="50"' in page and 'value="Goodwill"' in page and hidden_inputs(page)["submission_key"]
    assert balance_of(account) == 100


def test_admin_moves_a_bank_to_another_plan(client, make, ref, login):
    customer = make.customer()
    account = bank("Free", user=customer)
    login(make.admin())
    client.post(f"/admin/credits/banks/{account.id}/plan", data={"plan": plan("Business").id})
    db.session.expire_all()
    assert credits.account_for(customer).plan.name == "Business"


def test_admin_edits_tariff_with_htmx_and_it_is_audited(client, make, ref, login):
    login(make.admin())
    urgent = ref.priorities["Urgent"]
    response = client.post(
        f"/admin/credits/tariffs/{urgent.id}", data={"credit_cost": 300, "response_minutes": 30}, headers=HX
    )
    body = response.get_data(as_text=True)
    assert "<html" not in body and "Saved." in body
    change = db.session.scalar(select(CreditSettingChange).where(CreditSettingChange.field == "credit_cost"))
    assert (change.old_value, change.new_value) == ("250", "300")


def test_a_refused_tariff_comes_back_as_sent(client, make, ref, login):
    """A refused price or target keeps what was sent in every field (the targets came back empty
    when one did not parse), and the page itself still shows the stored values."""
    login(make.admin())
    urgent = ref.priorities["Urgent"]
    sent = {
        "credit_cost": "275",
        "response_minutes": "soon",
        "resolution_minutes": "480",
        "resolution_refund_percent": "150",
    }
    body = client.post(f"/admin/credits/tariffs/{urgent.id}", data=sent, headers=HX).get_data(as_text=True)
    assert "Saved." not in body and 'class="errors"' in body
    for name, value in sent.items():
        assert re.search(rf'name="{name}" value="{value}"', body), name
    assert db.session.get(type(urgent), urgent.id).credit_cost == 250
    page = client.get("/admin/credits/tariffs").get_data(as_text=True)
    assert f'id="cost-{urgent.id}" name="credit_cost" value="250"' in page


def _plan_data(plan, ref, **change):
    prefix = f"plan{plan.id}-"
    data = {
        "name": plan.name,
        "description": plan.description or "",
        "priorities": [ref.priorities["Normal"].id],
        "credits_enabled": "y",
        "signup_grant": 0,
        "monthly_allowance": 0,
        "rollover_cap": "",
        "billing_mode": "priority",
        "minute_rate": 1,
        "overdraft_floor": 0,
        "thresholds": "",
        **change,
    }
    return {prefix + name: value for name, value in data.items()}


def test_a_plan_cannot_take_another_plan_s_name(client, make, ref, login):
    login(make.admin())
    payg = plan("Pay as you go")
    body = client.post(
        f"/admin/credits/plans/{payg.id}", data=_plan_data(payg, ref, name="business "), headers=HX
    ).get_data(as_text=True)
    assert "Another plan is already called “business”: choose another name." in body
    assert 'value="business "' in body  # what was typed stays
    db.session.expire_all()
    assert plan("Pay as you go") is not None


def test_without_javascript_a_plan_saves_back_to_every_plan_and_a_refusal_shows_them_all(
    client, make, ref, login
):
    login(make.admin())
    payg = plan("Pay as you go")
    response = client.post(
        f"/admin/credits/plans/{payg.id}", data=_plan_data(payg, ref, description="Top up")
    )
    assert response.headers["Location"] == f"/admin/credits/plans#plan-{payg.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pay as you go saved." in page and "Save Business" in page
    refused = client.post(f"/admin/credits/plans/{payg.id}", data=_plan_data(payg, ref, name="Business"))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Another plan is already called" in page
    assert "Save Business" in page and "Save Free" in page  # the other plans are still there


def test_without_javascript_a_refused_price_shows_every_priority(client, make, ref, login):
    login(make.admin())
    high = ref.priorities["High"]
    refused = client.post(
        f"/admin/credits/tariffs/{high.id}", data={"credit_cost": "-5", "response_minutes": "240"}
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and f'id="cost-{high.id}" name="credit_cost" value="-5"' in page
    assert all(f'id="tariff-{p.id}"' in page for p in ref.priorities.values())


def test_admin_edits_a_plan_with_htmx(client, make, ref, login):
    login(make.admin())
    business = plan("Business")
    prefix = f"plan{business.id}-"
    data = {
        prefix + "name": "Business",
        prefix + "description": "Changed",
        prefix + "priorities": [ref.priorities["Normal"].id, ref.priorities["Urgent"].id],
        prefix + "credits_enabled": "y",
        prefix + "signup_grant": 0,
        prefix + "monthly_allowance": 2000,
        prefix + "rollover_cap": "",
        prefix + "billing_mode": "priority",
        prefix + "minute_rate": 1,
        prefix + "overdraft_floor": 0,
        prefix + "thresholds": "10%, cheapest, 0",
        prefix + "guarantee": "y",
    }
    response = client.post(f"/admin/credits/plans/{business.id}", data=data, headers=HX)
    assert "Saved." in response.get_data(as_text=True)
    db.session.expire_all()
    business = plan("Business")
    assert business.monthly_allowance == 2000 and business.rollover_cap is None and not business.self_service
    assert [p.name for p in business.priorities] == ["Normal", "Urgent"]
    assert business.thresholds[0].value == 10


def test_registration_with_a_plan_opens_the_bank(client, ref):
    payg = plan("Pay as you go")
    page = client.get("/register").get_data(as_text=True)
    assert "Choose your plan" in page and "Pay as you go" in page
    response = client.post(
        "/register",
        data={
            "name": "Erin",
            "email": "erin@example.com",
            "password": "long-enough-pass",
            "confirm": "long-enough-pass",
            "plan": payg.id,
        },
    )
    assert response.status_code == 200 and "Check your mail" in response.get_data(as_text=True)
    from helpdesk.accounts.auth import find_user_by_email

    account = credits.account_for(find_user_by_email("erin@example.com"))
    assert account.plan.name == "Pay as you go" and account.balance == 100


def test_time_bank_customers_see_time_billing_instead_of_prices(client, make, ref, login):
    customer = make.customer()
    bank("Time bank", 600, user=customer)
    login(customer)
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    assert "Urgent — response within 1 h of business hours — agent time at 1 credit a minute" in page
    client.post("/portal/tickets/new", data=ticket_form(ref))
    assert balance_of(credits.account_for(customer)) == 600


def test_followers_cannot_see_the_requesters_upgrade_quote(client, make, ref, login):
    alice = make.customer()
    bank("Business", 1000, user=alice)
    ticket = make.ticket(requester=alice, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    follower = make.customer()
    make.subscribe(ticket, follower)
    login(follower)
    url = f"/portal/tickets/{ticket.id}/upgrade-quote?priority={ref.priorities['Urgent'].id}"
    assert client.get(url, headers=HX).status_code == 404
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "Upgrade the priority" not in page
    assert (
        client.post(
            f"/portal/tickets/{ticket.id}/priority", data={"priority": ref.priorities["Urgent"].id}
        ).status_code
        == 302
    )
    assert balance_of(credits.account_for(alice)) == 1000


def test_agent_timer_start_and_stop_through_the_panel(client, make, ref, login):
    customer = make.customer()
    account = bank("Time bank", 600, user=customer)
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    login(make.technician(ref.categories["IT"]))
    started = client.post(f"/agent/credits/tickets/{ticket.id}/timer/start", headers=HX).get_data(
        as_text=True
    )
    assert "running, started just now" in re.sub(r"<[^>]+>", "", started) and "Stop timer" in started
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert markup_problems(page) == []  # its two time forms each had an id="csrf_token"
    stopped = client.post(f"/agent/credits/tickets/{ticket.id}/timer/stop", data={"note": "Call"}, headers=HX)
    body = stopped.get_data(as_text=True)
    assert "Start timer" in body and "1 min, 1 credits" in body
    assert balance_of(account) == 599


def test_a_timer_stops_at_the_minutes_the_agent_enters(client, make, ref, login):
    customer = make.customer()
    account = bank("Time bank", 600, user=customer)
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    login(make.technician(ref.categories["IT"]))
    client.post(f"/agent/credits/tickets/{ticket.id}/timer/start", headers=HX)
    refused = client.post(
        f"/agent/credits/tickets/{ticket.id}/timer/stop", data={"minutes": "0", "note": "Call"}
    )
    body = refused.get_data(as_text=True)
    assert "Stop timer" in body and 'value="Call"' in body and "between 1 and 1,440" in body  # kept, said why
    stopped = client.post(
        f"/agent/credits/tickets/{ticket.id}/timer/stop", data={"minutes": "25"}, headers=HX
    )
    assert "25 min, 25 credits" in stopped.get_data(as_text=True)
    assert balance_of(account) == 575


def test_starting_a_second_timer_says_where_the_first_one_runs(client, make, ref, login):
    customer = make.customer()
    first, second = (
        make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
        for _ in range(2)
    )
    login(make.technician(ref.categories["IT"]))
    alone = client.post(f"/agent/credits/tickets/{first.id}/timer/start", headers=HX).get_data(as_text=True)
    assert "also running" not in alone
    both = client.post(f"/agent/credits/tickets/{second.id}/timer/start", headers=HX).get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", both)
    assert f"Your timer is also running on ticket #{first.id}." in " ".join(text.split())
    assert f'href="/agent/tickets/{first.id}#credit-panel"' in both
    page = client.post(f"/agent/credits/tickets/{second.id}/timer/start", follow_redirects=True)
    assert f"Your timer is also running on #{first.id}." in page.get_data(as_text=True)  # without JavaScript


def test_a_timer_forgotten_overnight_is_not_charged_by_guess(client, make, ref, login):
    customer = make.customer()
    account = bank("Time bank", 3000, user=customer)
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    login(make.technician(ref.categories["IT"]))
    started = utcnow()
    client.post(f"/agent/credits/tickets/{ticket.id}/timer/start", headers=HX)
    later = started + timedelta(hours=30)
    with time_machine.travel(later, tick=False):
        page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
        # "yesterday", or "2 days ago" when started after 18:00 (the test failed every evening)
        words = relative_label(started, later, UTC)
        assert words in ("yesterday", "2 days ago")
        assert f"Your timer started {words}" in re.sub(r"<[^>]+>", "", page)
        refused = client.post(f"/agent/credits/tickets/{ticket.id}/timer/stop", data={}, headers=HX)
        assert "more than 24 hours" in refused.get_data(as_text=True)
        assert balance_of(account) == 3000
        stopped = client.post(
            f"/agent/credits/tickets/{ticket.id}/timer/stop", data={"minutes": "50"}, headers=HX
        )
        assert "50 min, 50 credits" in stopped.get_data(as_text=True)
    assert balance_of(account) == 2950


def test_technicians_only_reach_panels_of_tickets_they_work(client, make, ref, login):
    ticket = make.ticket(
        requester=make.customer(), category=ref.categories["Sales"], priority=ref.priorities["Low"]
    )
    login(make.technician(ref.categories["IT"]))
    assert client.get(f"/agent/credits/tickets/{ticket.id}").status_code == 404
    assert client.post(f"/agent/credits/tickets/{ticket.id}/time", data={"minutes": 5}).status_code == 404


def test_quote_due_time_is_in_the_customers_time_zone(client, make, ref, login):
    import re
    from datetime import datetime
    from zoneinfo import ZoneInfo

    customer = make.customer(timezone="Asia/Tokyo")
    bank("Business", 1000, user=customer)
    login(customer)
    body = client.get(
        f"/portal/tickets/new/quote?priority={ref.priorities['Urgent'].id}", headers=HX
    ).get_data(as_text=True)
    stamp, shown = re.search(r'<time datetime="([^"]+)">(\d\d:\d\d) (today|tomorrow)</time>', body).group(
        1, 2
    )
    assert datetime.fromisoformat(stamp).astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") == shown


@pytest.mark.parametrize("path", ["/admin/credits/", "/admin/credits/alerts", "/admin/credits/banks/{bank}"])
def test_admin_lists_answer_htmx_with_fragments(client, make, ref, login, path):
    account = bank("Business", 100, user=make.customer())
    login(make.admin())
    response = client.get(path.format(bank=account.id) + "?page=1", headers=HX)
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]


def test_admin_finds_a_bank_by_owner(client, make, ref, login):
    bank("Business", 100, user=make.customer(name="Zoe Zimmer", email="zoe@example.com"))
    bank("Free", user=make.customer(name="Yann Young"))
    bank("Pay as you go", 10, organization=make.OrganizationFactory(name="100% Widgets"))
    login(make.admin())
    found = client.get("/admin/credits/?q=zoe", headers=HX).get_data(as_text=True)
    assert "Zoe Zimmer" in found and "Yann Young" not in found
    percent = client.get("/admin/credits/?q=100%25", headers=HX).get_data(as_text=True)
    assert "100% Widgets" in percent and "Zoe Zimmer" not in percent
