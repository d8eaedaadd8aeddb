"""`flask credits ...`: verify, allowance and sla-sweep are safe to run from cron, again and again."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from helpdesk.credits import ledger as credits
from helpdesk.credits import ledger_guard, submission
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
    # An entry written around post_entry (the triggers let an INSERT through), with a wrong
    # running balance; the bank's balance moved to match its amount.
    db.session.execute(
        insert(LedgerEntry).values(
            account_id=account.id, amount=-100, kind="charge", balance_after=450, idempotency_key="c", memo=""
        )
    )
    db.session.execute(update(CreditAccount).where(CreditAccount.id == account.id).values(balance=400))
    db.session.commit()
    entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == "c"))
    result = app.test_cli_runner().invoke(args=["credits", "verify"])
    assert result.exit_code == 1 and f"entry {entry.id}: balance after 450, running sum 400" in result.output


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_or_delete_a_ledger_entry(app, make, ref, change):
    account = bank("Business", 500, user=make.customer())
    entry_id = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.account_id == account.id))
    statement = (
        update(LedgerEntry).where(LedgerEntry.id == entry_id).values(amount=5000)
        if change == "update"
        else delete(LedgerEntry).where(LedgerEntry.id == entry_id)
    )
    with pytest.raises(DBAPIError, match="append-only"):
        with db.session.begin_nested():
            db.session.execute(statement)
    assert db.session.scalar(select(LedgerEntry.amount).where(LedgerEntry.id == entry_id)) == 500


@pytest.mark.committing
def test_verify_fails_when_the_ledger_triggers_are_missing(app, make, ref):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["credits", "verify"]).exit_code == 0
    db.session.remove()  # the command ran in this app context: end its transaction
    with db.engine.begin() as conn:
        ledger_guard.uninstall(conn)
    try:
        result = runner.invoke(args=["credits", "verify"])
        assert result.exit_code == 1
        assert "is missing: ledger entries could be changed or deleted" in result.output
    finally:
        db.session.remove()
        with db.engine.begin() as conn:
            ledger_guard.install(conn)
    assert runner.invoke(args=["credits", "verify"]).exit_code == 0


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
    assert db.session.scalar(select(func.count(Message.id)).where(Message.source == "credits")) == 1
