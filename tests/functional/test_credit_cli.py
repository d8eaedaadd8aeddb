"""`flask credits ...`: verify, allowance and sla-sweep are safe to run from cron, again and again."""

from datetime import timedelta

from sqlalchemy import func, select, update

from helpdesk.credits import ledger as credits
from helpdesk.credits import submission
from helpdesk.credits.models import CreditAccount, LedgerEntry
from helpdesk.extensions import db
from helpdesk.tickets.models import Message
from tests.credit_helpers import balance_of, bank


def test_verify_passes_on_a_sound_ledger_and_fails_on_a_mismatch(app, make, ref):
    account = bank("Business", 500, user=make.customer())
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["credits", "verify"])
    assert ok.exit_code == 0 and "Ledger OK" in ok.output
    db.session.execute(update(CreditAccount).where(CreditAccount.id == account.id).values(balance=501))
    db.session.commit()
    bad = runner.invoke(args=["credits", "verify"])
    assert bad.exit_code == 1 and "stored balance 501, ledger sum 500" in bad.output


def test_verify_catches_a_wrong_running_balance(app, make, ref):
    account = bank("Business", 500, user=make.customer())
    credits.post_entry(account.id, -100, "charge", idempotency_key="c")
    db.session.commit()
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == "c"))
    db.session.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id).values(balance_after=450))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["credits", "verify"])
    assert result.exit_code == 1 and f"entry {entry.id}: balance after 450, running sum 400" in result.output


def test_allowance_twice_in_a_period_grants_once(app, make, ref):
    business = bank("Business", 0, user=make.customer())
    bank("Free", user=make.customer())
    runner = app.test_cli_runner()
    first = runner.invoke(args=["credits", "allowance", "--period", "2026-12"])
    second = runner.invoke(args=["credits", "allowance", "--period", "2026-12"])
    assert "1 bank(s) granted" in first.output and "0 bank(s) granted" in second.output
    assert balance_of(business) == 1000
    grants = select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "allowance")
    assert db.session.scalar(grants) == 1


def test_sla_sweep_refunds_once(app, make, ref):
    alice = make.customer()
    account = bank("Business", 1000, user=alice)
    ticket, _ = submission.submit_ticket(
        alice,
        subject="Late",
        body="Late",
        category_id=ref.categories["IT"].id,
        priority_id=ref.priorities["Urgent"].id,
        submission_key="s",
    )
    ticket.first_response_at = ticket.due_at + timedelta(minutes=3)  # answered late, check missed
    db.session.commit()
    runner = app.test_cli_runner()
    assert "SLA sweep: 1 refund(s)" in runner.invoke(args=["credits", "sla-sweep"]).output
    assert "SLA sweep: 0 refund(s)" in runner.invoke(args=["credits", "sla-sweep"]).output
    assert balance_of(account) == 1000
    assert credits.ledger_mismatches() == []
    assert db.session.scalar(select(func.count(Message.id)).where(Message.source == "system")) == 1
