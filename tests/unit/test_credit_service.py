"""Credit service rules: quotes, charges with tickets, upgrades, re-pricing, allowances, guarantee."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.credits import allowances as credit_allowances
from helpdesk.credits import guarantee as credit_sla
from helpdesk.credits import ledger as credits
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits import submission
from helpdesk.credits.models import CreditAlert, LedgerEntry
from helpdesk.dbtypes import utcnow
from helpdesk.demo import seed
from helpdesk.errors import InsufficientCredits, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets.models import Message, Priority, Ticket
from tests.credit_helpers import balance_of, bank, plan


def submit(user, ref, priority="Urgent", key="k1"):
    return submission.submit_ticket(
        user,
        subject="Server down",
        body="Everything is down.",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities[priority].id,
        submission_key=key,
    )


def test_quote_shows_cost_balance_after_and_due_time(make, ref):
    alice = make.customer()
    bank("Business", 1000, user=alice)
    now = datetime(2026, 11, 21, 14, 30, tzinfo=UTC)
    quote = credit_quotes.quote_for(alice, ref.priorities["Urgent"].id, now=now)
    assert (quote.cost, quote.balance, quote.balance_after) == (250, 1000, 750)
    assert quote.due_at == now + timedelta(hours=1) and quote.available


def test_free_plan_offers_only_low_and_normal(make, ref):
    bob = make.customer()
    bank("Free", user=bob)
    names = [q.priority.name for q in credit_quotes.quotes_for(bob)]
    assert names == ["Low", "Normal"]
    with pytest.raises(ValidationFailed):
        submit(bob, ref, "Urgent")


def test_short_bank_gets_shortfall_and_no_ticket(make, ref):
    carol = make.customer()
    account = bank("Pay as you go", 100, user=carol)
    quote = credit_quotes.quote_for(carol, ref.priorities["Urgent"].id)
    assert quote.shortfall == 150 and not quote.available
    with pytest.raises(InsufficientCredits, match="short by 150"):
        submit(carol, ref)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert balance_of(account) == 100


def test_ticket_and_charge_in_one_transaction_and_resubmission_charges_once(make, ref):
    alice = make.customer()
    account = bank("Business", 1000, user=alice)
    ticket, created = submit(alice, ref)
    db.session.commit()
    again, created_again = submit(alice, ref)
    db.session.commit()
    assert created and not created_again and again.id == ticket.id
    assert balance_of(account) == 750
    assert credit_quotes.net_paid(ticket) == 250
    assert credits.ledger_mismatches() == []


def test_past_charge_keeps_what_was_paid_after_a_price_change(make, ref):
    alice = make.customer()
    bank("Business", 1000, user=alice)
    ticket, _ = submit(alice, ref)
    db.session.commit()
    ref.priorities["Urgent"].credit_cost = 400
    db.session.commit()
    assert credit_quotes.net_paid(ticket) == 250


def test_customer_upgrade_pays_the_difference(make, ref):
    alice = make.customer()
    account = bank("Business", 1000, user=alice)
    ticket, _ = submit(alice, ref, "High")
    db.session.commit()
    credit_quotes.upgrade_priority(ticket, ref.priorities["Urgent"], alice)
    db.session.commit()
    assert ticket.priority.name == "Urgent"
    assert balance_of(account) == 750 and credit_quotes.net_paid(ticket) == 250
    with pytest.raises(ValidationFailed):
        credit_quotes.upgrade_priority(ticket, ref.priorities["High"], alice)


def test_upgrade_is_refused_to_strangers_and_without_credits(make, ref):
    alice, mallory = make.customer(), make.customer()
    account = bank("Pay as you go", 150, user=alice)
    ticket, _ = submit(alice, ref, "High")
    db.session.commit()
    with pytest.raises(NotAllowed):
        credit_quotes.upgrade_priority(ticket, ref.priorities["Urgent"], mallory)
    with pytest.raises(InsufficientCredits):
        credit_quotes.upgrade_priority(ticket, ref.priorities["Urgent"], alice)
    db.session.rollback()
    assert balance_of(account) == 0 and ticket.priority.name == "High"


def test_agent_lowering_refunds_the_difference_and_raising_is_free(make, ref):
    alice = make.customer()
    agent = make.admin()
    account = bank("Business", 1000, user=alice)
    ticket, _ = submit(alice, ref, "Urgent")
    db.session.commit()
    refund = credit_quotes.change_priority(ticket, ref.priorities["High"], agent)
    db.session.commit()
    assert refund.amount == 100 and balance_of(account) == 850
    assert credit_quotes.change_priority(ticket, ref.priorities["Urgent"], agent) is None
    db.session.commit()
    assert balance_of(account) == 850
    refund = credit_quotes.change_priority(ticket, ref.priorities["Low"], agent)
    db.session.commit()
    assert refund.amount == 150 and balance_of(account) == 1000
    assert credits.ledger_mismatches() == []


def test_customer_cannot_use_the_agent_repricing(make, ref):
    alice = make.customer()
    bank("Business", 1000, user=alice)
    ticket, _ = submit(alice, ref)
    db.session.commit()
    with pytest.raises(NotAllowed):
        credit_quotes.change_priority(ticket, ref.priorities["Low"], alice)


def _late_reply(ticket, agent):
    ticket.due_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    tickets.add_message(ticket, agent, "Sorry for the wait.")
    db.session.commit()


def test_guarantee_refunds_a_late_first_reply_once(make, ref):
    alice, agent = make.customer(), make.admin()
    account = bank("Business", 1000, user=alice)
    ticket, _ = submit(alice, ref)
    db.session.commit()
    _late_reply(ticket, agent)
    tickets.add_message(ticket, agent, "Second reply.")
    db.session.commit()
    assert credit_sla.sla_sweep().refunds == []
    assert balance_of(account) == 1000
    refunds = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "refund")).all()
    assert len(refunds) == 1
    system = db.session.scalars(select(Message).where(Message.source == "credits")).all()
    assert len(system) == 1 and "refunded" in system[0].body


def test_no_guarantee_without_the_plan_option_or_when_on_time(make, ref):
    payg, business, agent = make.customer(), make.customer(), make.admin()
    payg_bank = bank("Pay as you go", 500, user=payg)
    business_bank = bank("Business", 500, user=business)
    late, _ = submit(payg, ref)
    on_time, _ = submit(business, ref, key="k2")
    db.session.commit()
    _late_reply(late, agent)
    tickets.add_message(on_time, agent, "Quick answer.")
    db.session.commit()
    assert balance_of(payg_bank) == 250 and balance_of(business_bank) == 250


def test_sla_sweep_catches_a_missed_refund_and_is_idempotent(make, ref):
    alice, agent = make.customer(), make.admin()
    account = bank("Business", 1000, user=alice)
    ticket, _ = submit(alice, ref)
    db.session.commit()
    # A reply recorded without the reply-time check (e.g. imported): late, not yet refunded.
    ticket.first_response_at = ticket.due_at + timedelta(minutes=1)
    db.session.add(Message(ticket=ticket, author=agent, body="Late"))
    db.session.commit()
    assert len(credit_sla.sla_sweep().refunds) == 1
    db.session.commit()
    assert credit_sla.sla_sweep().refunds == []
    db.session.commit()
    assert balance_of(account) == 1000


def test_allowance_is_granted_once_per_period_with_the_rollover_cap(make, ref):
    alice = make.customer()
    account = bank("Business", 700, user=alice)  # credits of her own: they never count against the cap
    assert credit_allowances.grant_allowance(account.id, "2026-12").amount == 1000
    db.session.commit()
    assert credit_allowances.grant_allowance(account.id, "2026-12") is None
    db.session.commit()
    assert balance_of(account) == 1700
    assert credit_allowances.grant_allowance(account.id, "2027-01").amount == 1000  # 1,000 unused: the cap
    db.session.commit()
    assert balance_of(account) == 2700
    credits.post_entry(account.id, -400, "charge", idempotency_key="c1")  # spent from the allowance first
    entry = credit_allowances.grant_allowance(account.id, "2027-02")  # 1,600 unused: 600 over the cap
    assert entry.amount == 400 and "less 600 unused allowance above the rollover cap of 1,000" in entry.memo
    db.session.commit()
    assert balance_of(account) == 2700  # 700 of her own + 2,000 allowance (1,000 carried, 1,000 new)


def test_unused_allowance_is_spent_first_and_never_more_than_the_balance(make, ref):
    alice = make.customer()
    account = bank("Business", 0, user=alice)
    credits.post_entry(account.id, 1000, "allowance", idempotency_key="a1")
    credits.post_entry(account.id, 500, "purchase", idempotency_key="p1")
    assert credit_allowances.unused_allowance(account.id) == 1000
    credits.post_entry(account.id, -1200, "charge", idempotency_key="c1")
    assert credit_allowances.unused_allowance(account.id) == 0  # the purchase's 300 are left
    credits.post_entry(account.id, 200, "refund", idempotency_key="r1")
    credits.post_entry(account.id, 100, "allowance", idempotency_key="a2")
    assert credit_allowances.unused_allowance(account.id) == 100
    credits.post_entry(account.id, -600, "charge", idempotency_key="c2")  # to 0: nothing is left
    credits.post_entry(account.id, 50, "purchase", idempotency_key="p2")
    assert credit_allowances.unused_allowance(account.id) == 0


def test_low_balance_alerts_once_per_crossing_and_rearms_on_top_up(make, ref):
    alice = make.customer()
    account = bank("Pay as you go", 0, user=alice)
    credits.post_entry(account.id, 1000, "purchase", idempotency_key="p1")  # thresholds 250, 150, 0
    db.session.commit()
    before = db.session.scalar(select(func.coalesce(func.max(CreditAlert.id), 0)))

    def charge(amount, key):
        credits.post_entry(account.id, -amount, "charge", idempotency_key=key)
        db.session.commit()
        alerts = select(CreditAlert).where(CreditAlert.id > before).order_by(CreditAlert.id)
        return [a.level for a in db.session.scalars(alerts)]

    assert charge(700, "c1") == []  # 300 left
    assert charge(60, "c2") == [1]  # 240: below 25% of the top-up
    assert charge(10, "c3") == [1]  # same stage: no second alert
    assert charge(100, "c4") == [1, 2]  # 130: below the cheapest paid priority
    assert charge(130, "c5") == [1, 2, 3]  # zero
    credits.post_entry(account.id, 1000, "purchase", idempotency_key="p2")
    db.session.commit()
    assert balance_of(account) == 1000 and account.low_stage == 0
    assert charge(800, "c6") == [1, 2, 3, 1]  # re-armed by the top-up


def test_registration_plan_opens_the_bank_with_its_grant(make, ref):
    user = make.customer()
    account = credits.open_chosen_plan(user, plan("Pay as you go").id)
    db.session.commit()
    assert account.balance == 100
    assert credits.open_account(plan("Pay as you go"), user=user).balance == 100  # not granted twice
    with pytest.raises(ValidationFailed):
        credits.open_chosen_plan(make.customer(), plan("Business").id)  # not self-service


def test_organization_members_spend_from_the_shared_bank(make, ref):
    org = make.OrganizationFactory()
    carol = make.customer(organization=org, is_org_manager=True)
    dave = make.customer(organization=org)
    shared = bank("Pay as you go", 500, organization=org)
    submit(dave, ref, key="d1")
    submit(carol, ref, key="c1")
    db.session.commit()
    assert balance_of(shared) == 0
    assert credits.account_for(dave).id == shared.id


def test_demo_seed_banks_are_idempotent():
    seed.seed_demo()
    db.session.commit()
    seed.seed_demo()
    db.session.commit()
    balances = {
        a.owner_name: (a.plan.name, a.balance) for a in db.session.scalars(select(credits.CreditAccount))
    }
    assert balances["Alice Archer"] == ("Business", 1000)
    assert balances["Bob Baker"] == ("Free", 0)
    assert balances["Acme"] == ("Pay as you go", 500)
    assert db.session.scalar(select(func.count(Priority.id))) == 4
    assert credits.ledger_mismatches() == []
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0  # seeded history sends no mail


def test_alerts_name_their_recipients_and_are_mailed_with_the_crossing(make, ref):
    org = make.OrganizationFactory()
    manager = make.customer(organization=org, is_org_manager=True)
    make.customer(organization=org)
    admin = make.admin()
    account = bank("Pay as you go", 300, organization=org)
    credits.post_entry(account.id, -300, "charge", idempotency_key="drain")
    db.session.commit()
    from helpdesk.credits import alerts as credit_alerts

    alert = db.session.scalars(select(CreditAlert).order_by(CreditAlert.id)).all()[-1]
    recipients = credit_alerts.alert_recipients(alert)
    assert recipients["customers"] == [manager] and recipients["admins"] == [admin]
    assert alert.notified_at is not None  # its mail was queued in the same transaction
