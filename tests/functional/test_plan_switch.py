"""Buying in from the Free plan: every priority on the form, the plan page, the switch, the billing page."""

import pytest
from sqlalchemy import select

from helpdesk.credits import ledger as credits
from helpdesk.credits.models import LedgerEntry
from helpdesk.extensions import db
from tests import billing_support as bs
from tests.credit_helpers import balance_of, bank, plan


@pytest.fixture
def bob(make, ref, login):
    """A customer on the Free plan (no credits), logged in."""
    user = make.customer(name="Bob Baker")
    bank("Free", user=user)
    login(user)
    return user


def entries(account):
    return db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.id)
    ).all()


def switch(client, name):
    return client.post(f"/portal/plan/{plan(name).id}")


def test_the_form_shows_the_paid_priorities_of_other_plans_with_a_switch_link(client, bob, ref):
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    urgent = ref.priorities["Urgent"].id
    assert "Urgent — response within 1 h of business hours — 250 credits" in page
    assert "High — response within 4 h of business hours — 150 credits" in page
    assert "Not on your plan: on Pay as you go." in page
    for name in ("High", "Urgent"):  # the button keeps the form as a draft on the way to the plans
        wanted = ref.priorities[name].id
        assert f'formaction="/portal/tickets/new/draft?then=plan&amp;wanted={wanted}"' in page
    assert page.count(">Switch plan</button>") == 2
    assert f'value="{urgent}"' not in page  # no radio for a priority the plan does not offer
    assert f'value="{ref.priorities["Normal"].id}"' in page


def test_a_forged_locked_priority_is_still_refused(client, bob, ref):
    data = {
        "category": ref.categories["IT"].id,
        "priority": ref.priorities["Urgent"].id,
        "subject": "Down",
        "body": "All of it.",
        "submission_key": "forged-1",
    }
    page = client.post("/portal/tickets/new", data=data).get_data(as_text=True)
    errors = page.split('id="priority-errors">')[1].split("</ul>")[0]
    assert errors == "<li>Urgent is not on your plan: choose one of its priorities.</li>"  # one message
    assert "Not a valid choice" not in page and "choose one of the listed options" not in page
    assert "Choose one of the priorities of your plan" not in page  # not said again under the field
    assert "Down</textarea>" in page or 'value="Down"' in page  # nothing typed is lost
    assert balance_of(credits.account_for(bob)) == 0


def test_a_customer_of_a_plan_with_every_priority_sees_no_locked_ones(client, make, ref, login):
    alice = make.customer()
    bank("Business", 1000, user=alice)
    login(alice)
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    assert "Not on your plan" not in page and "Switch plan" not in page


def test_the_plan_page_lists_the_self_service_plans_and_what_each_includes(client, bob, ref):
    page = client.get("/portal/plan").get_data(as_text=True)
    assert "You are on the <strong>Free</strong> plan" in page
    assert "Free (your plan)" in page and "Pay as you go" in page
    assert "Business" not in page.split("<main")[-1]  # not self-service
    assert "Urgent — response within 1 h of business hours — 250 credits a ticket" in page
    assert "100 credits to start" in page and "No credits: paid priorities are not included" in page
    assert 'href="/portal/plan/{}"'.format(plan("Pay as you go").id) in page


def test_an_admin_marks_which_plans_are_self_service(client, bob, ref):
    plan("Business").self_service = True
    db.session.commit()
    page = client.get("/portal/plan").get_data(as_text=True)
    assert "Switch to Business" in page and "1,000 credits every month" in page


def test_the_confirmation_says_what_changes_and_that_credits_stay(client, bob, ref):
    page = client.get(f"/portal/plan/{plan('Pay as you go').id}").get_data(as_text=True)
    assert "Switch to Pay as you go?" in page
    assert "Your balance of 0 credits stays as it is." in page
    assert "You get 100 credits to start (once per bank)." in page
    assert "New tickets may use: High, Urgent." in page
    assert "You can switch back at any time" in page
    assert credits.account_for(bob).plan.name == "Free"  # looking changes nothing


def test_switching_moves_the_bank_grants_once_and_is_audited(client, bob, ref):
    response = switch(client, "Pay as you go")
    assert response.status_code == 302 and response.location.endswith("/portal/credits")
    account = credits.account_for(bob)
    assert account.plan.name == "Pay as you go" and balance_of(account) == 100
    changed, grant = entries(account)
    assert (changed.amount, changed.memo, changed.actor_id) == (
        0,
        "Plan changed from Free to Pay as you go",
        bob.id,
    )
    assert (grant.kind, grant.amount, grant.actor_id) == ("signup_grant", 100, bob.id)
    page = client.get("/portal/credits").get_data(as_text=True)
    assert "You are now on the Pay as you go plan. Your balance stays 0 credits, plus 100 to start." in page
    assert "Plan changed from Free to Pay as you go" in page and "Pay as you go" in page


def test_a_switch_back_keeps_every_credit_and_earns_no_second_grant(client, bob, ref):
    switch(client, "Pay as you go")
    account = credits.account_for(bob)
    credits.post_entry(account.id, 1200, "purchase", idempotency_key="test:bought")
    db.session.commit()
    confirm = client.get(f"/portal/plan/{plan('Free').id}").get_data(as_text=True)
    assert "Your balance of 1,300 credits stays as it is." in confirm
    assert "they wait in your bank until you switch to a plan that does" in confirm
    assert "New tickets can no longer use: High, Urgent" in confirm
    switch(client, "Free")
    assert credits.account_for(bob).plan.name == "Free" and balance_of(account) == 1300
    switch(client, "Pay as you go")
    assert balance_of(account) == 1300  # the sign-up grant came once
    assert [e.memo for e in entries(account) if e.amount == 0] == [
        "Plan changed from Free to Pay as you go",
        "Plan changed from Pay as you go to Free",
        "Plan changed from Free to Pay as you go",
    ]
    assert credits.ledger_mismatches() == []


def test_switching_to_the_current_plan_changes_nothing(client, bob, ref):
    response = switch(client, "Free")
    assert response.location.endswith("/portal/plan")
    assert "already on the Free plan" in client.get("/portal/plan").get_data(as_text=True)
    assert entries(credits.account_for(bob)) == []


def test_a_switch_sent_twice_from_a_draft_goes_back_to_the_draft_both_times(client, bob, ref):
    # Without JavaScript a double click sends the switch twice: the first switches, the second
    # found the plan already chosen and answered a red refusal on the plans page, away from the draft.
    from helpdesk.tickets import drafts

    draft = drafts.save_draft(bob, submission_key="draft-twice", subject="Printer on fire", body="Smoke")
    db.session.commit()
    url = f"/portal/plan/{plan('Pay as you go').id}?draft={draft.id}"
    first, second = client.post(url), client.post(url)
    for response in (first, second):
        assert response.status_code == 302 and response.location.endswith(
            f"/portal/tickets/new?draft={draft.id}"
        )
    page = client.get(second.location).get_data(as_text=True)
    assert "You are already on the Pay as you go plan." in page and "Printer on fire" in page
    assert "flash-error" not in page
    assert credits.account_for(bob).plan.name == "Pay as you go"


def test_a_plan_that_is_not_self_service_cannot_be_picked(client, bob, ref):
    assert client.get(f"/portal/plan/{plan('Business').id}").status_code == 404
    switch(client, "Business")
    assert credits.account_for(bob).plan.name == "Free"
    assert "Choose one of the plans offered" in client.get("/portal/plan").get_data(as_text=True)


def test_a_plan_arranged_with_the_desk_is_changed_by_an_admin_only(client, make, ref, login):
    alice = make.customer()
    account = bank("Business", 1000, user=alice)
    login(alice)
    page = client.get("/portal/plan").get_data(as_text=True)
    assert "Your Business plan was arranged with the help desk: contact support to change it." in page
    assert "Switch to" not in page
    switch(client, "Pay as you go")
    assert credits.account_for(alice).plan.name == "Business" and balance_of(account) == 1000


def test_a_customer_without_a_bank_gets_one_on_the_plan_they_pick(client, make, ref, login):
    newcomer = make.customer()
    login(newcomer)
    switch(client, "Pay as you go")
    account = credits.account_for(newcomer)
    assert account.plan.name == "Pay as you go" and account.balance == 100


@pytest.fixture
def acme(make, ref):
    org = make.OrganizationFactory(name="Acme")
    shared = bank("Free", organization=org)
    carol = make.customer(organization=org, is_org_manager=True, name="Carol Carter")
    dave = make.customer(organization=org, name="Dave Dunn")
    return shared, carol, dave


def test_only_the_manager_switches_a_shared_bank(client, login, acme):
    shared, carol, dave = acme
    login(dave)
    page = client.get("/portal/plan").get_data(as_text=True)
    assert "only the organization&#39;s manager chooses its plan (ask Carol Carter)" in page
    assert "Switch plan" not in client.get("/portal/tickets/new").get_data(as_text=True)
    switch(client, "Pay as you go")
    assert credits.account_for(dave).plan.name == "Free"
    assert credits.account_for(dave).organization_id  # no personal bank was opened instead
    login(carol)
    switch(client, "Pay as you go")
    assert credits.account_for(dave).plan.name == "Pay as you go" and balance_of(shared) == 100


def test_the_credits_page_names_the_plan_and_links_to_the_plans(client, bob, ref):
    page = client.get("/portal/credits").get_data(as_text=True)
    assert "Free — Low and Normal priority, no credits." in page
    assert '<a href="/portal/plan">Change plan</a>' in page


def test_switching_needs_a_valid_form(client, bob, ref, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = switch(client, "Pay as you go")
    assert response.status_code in (302, 400)
    assert credits.account_for(bob).plan.name == "Free"


@pytest.fixture
def shop(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)
    return bs.pack("Team", credits=1200, price=10000)


def test_the_billing_page_offers_the_switch_and_says_what_a_pack_buys(client, bob, shop):
    page = client.get("/billing/").get_data(as_text=True)
    assert "on the Free plan, which does not use credits" in page
    assert "Switch to a plan with credits (Pay as you go)" in page
    assert '<a href="/portal/plan">Switch plan</a>' in page
    assert "Contact support" not in page
    assert (
        "Pays for 8 High tickets or 4 Urgent tickets" in page and "Prices on the Pay as you go plan." in page
    )


def test_the_billing_page_prices_packs_on_the_customer_s_own_plan(client, make, ref, login, shop):
    alice = make.customer()
    bank("Time bank", 600, user=alice)
    login(alice)
    page = client.get("/billing/").get_data(as_text=True)
    assert "Pays for 1,200 minutes of agent time" in page and "1 credit a minute" in page
    assert "Prices on the" not in page


@pytest.mark.postgres_only
@pytest.mark.committing
def test_ten_simultaneous_switches_move_the_bank_once_and_grant_once(app, make, ref):
    import threading

    from helpdesk.accounts.models import User
    from helpdesk.credits import switching
    from helpdesk.errors import ValidationFailed

    bob = make.customer()
    account = bank("Free", user=bob)
    bob_id, target = bob.id, plan("Pay as you go").id
    db.session.commit()
    barrier, outcomes = threading.Barrier(10), []

    def run():
        with app.app_context():
            barrier.wait()
            try:
                switching.switch_plan(db.session.get(User, bob_id), target)
                db.session.commit()
                outcomes.append("ok")
            except ValidationFailed:
                db.session.rollback()
                outcomes.append("already")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already"] * 9 + ["ok"]
    assert balance_of(account) == 100 and len(entries(account)) == 2
    assert credits.ledger_mismatches() == []


def test_a_member_who_may_not_switch_is_not_promised_a_switch_back(client, make, login, ref):
    org = make.OrganizationFactory(name="Acme")
    bank("Pay as you go", 100, organization=org)
    make.customer(organization=org, is_org_manager=True, name="Carol Carter")
    login(make.customer(organization=org, name="Dave Dunn"))
    page = client.get("/portal/plan").get_data(as_text=True)
    assert "only the organization" in page and "manager chooses its plan (ask Carol Carter)" in page
    assert "switch back" not in page
