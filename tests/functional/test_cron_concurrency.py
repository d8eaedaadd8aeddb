"""Every periodic command run twice at the same moment (the same crontab on two servers) does its
work once: one history entry, ledger entry, mail or file removal per cause, and no error.

The worker's queues have their own tests (test_mail_outgoing: two workers never send a message
twice; test_webhooks_concurrency). Tests marked postgres_only are races SQLite cannot have: it
serialises writers at BEGIN IMMEDIATE."""

import threading
import time
import traceback
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.actions import perform
from helpdesk.api.models import IdempotentRequest
from helpdesk.billing import topup_runner
from helpdesk.billing.models import Payment, PlanSubscription
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import LedgerEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import imap
from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import InboundMail, OutboxMessage
from helpdesk.tickets import upload_cleaning, uploads
from helpdesk.tickets.models import Attachment, Ticket, TicketEvent
from helpdesk.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests import billing_support as bs
from tests.credit_helpers import bank, urgent_ticket
from tests.mail_support import FakeImapMailbox, load_eml, poll_from, renamed

# committing: each copy runs in its own thread, app context and connection, and must see the set-up.
pytestmark = pytest.mark.committing


def at_once(app, work, copies=2, rounds=1):
    """Run `work()` in `copies` threads (each its own app context and session) that start each
    round together; returns what the calls returned. Any exception fails the test."""
    db.session.commit()  # SQLite: this thread must not hold the write lock meanwhile
    barrier, results, errors = threading.Barrier(copies), [], []

    def run():
        with app.app_context():
            try:
                for _ in range(rounds):
                    barrier.wait()
                    results.append(work())
                    db.session.commit()
            except Exception:  # reported below: a copy's failure fails the test
                db.session.rollback()
                errors.append(traceback.format_exc())
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    return results


def command(app, *args):
    """The work of `flask <args>` (what cron runs), for at_once."""
    return lambda: app.cli.main(list(args), standalone_mode=False)


def count(model, *conditions):
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


# Races that were real on PostgreSQL (fixed): each test failed before its fix.

NEW_TICKET = load_eml("new_ticket_plain.eml")


@pytest.fixture
def mailbox(app, monkeypatch):
    """A fake IMAP mailbox with eight new messages, which the app polls."""
    box = FakeImapMailbox([renamed(NEW_TICKET, n) for n in range(8)])
    poll_from(app, monkeypatch, box.start())
    yield box
    box.stop()


def outcomes():
    rows = db.session.execute(select(InboundMail.outcome, func.count()).group_by(InboundMail.outcome))
    return dict(rows.all())


@pytest.mark.postgres_only
def test_two_polls_at_once_post_each_message_once_and_log_no_copies(app, ref, mailbox):
    stored = at_once(app, imap.poll)
    assert sorted(stored, key=str) in ([8, None], [0, 8])  # the other found it running, or nothing left
    assert count(Ticket) == 8 and outcomes() == {"new_ticket": 8}
    assert mailbox.messages == {}


@pytest.mark.postgres_only
def test_one_message_delivered_twice_at_once_is_posted_once(app, ref):
    messages = iter([renamed(NEW_TICKET, n) for n in range(5) for _copy in range(2)])
    lock = threading.Lock()

    def deliver_next():  # both copies of one message are taken in the same round
        with lock:
            raw = next(messages)
        return ingest(raw).outcome

    at_once(app, deliver_next, rounds=5)
    assert count(Ticket) == 5 and outcomes() == {"new_ticket": 5, "duplicate": 5}


@pytest.mark.postgres_only
def test_two_upload_cleans_at_once_remove_each_staged_file_once(app, make):
    customer = make.customer()
    for n in range(12):
        uploads.stage_files(customer, f"form-{n}", [(f"notes-{n}.txt", b"abandoned %d" % n)])
    db.session.flush()
    db.session.execute(db.update(Attachment).values(created_at=utcnow() - timedelta(days=2)))
    removed = at_once(app, lambda: upload_cleaning.clean_staged(older_than=timedelta(hours=24)))
    assert sum(rows for rows, _files in removed) == 12  # each row removed (and counted) by one run
    assert count(Attachment) == 0


@pytest.mark.postgres_only
def test_a_top_up_s_outcome_is_recorded_while_another_runner_looks_at_it(app, make, ref, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    customer = make.customer()
    account = bank("Pay as you go", 300, user=customer)
    bs.auto_top_up(account, customer, bs.pack("Team", credits=1200, price=10000))
    credits.post_entry(account.id, -150, "charge", idempotency_key="spend")
    db.session.commit()
    payment_id = db.session.scalar(select(Payment.id).where(Payment.kind == "top_up"))
    call = perform(topup_runner.claim, payment_id).value  # this runner's attempt, leased
    looking = threading.Event()

    def another_runner():  # the sweep on another server, looking at the row under its lock meanwhile
        with app.app_context():
            db.session.execute(select(Payment.id).where(Payment.id == payment_id).with_for_update())
            looking.set()
            time.sleep(0.3)
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=another_runner)
    thread.start()
    looking.wait(10)
    outcome = perform(topup_runner.record, payment_id, topup_runner.charge(call)).value
    thread.join(10)
    assert outcome == "charged"
    payment = db.session.get(Payment, payment_id)
    assert payment.payment_intent_id == f"demo_pi_top_up_{payment_id}" and payment.claimed_until is None


# Already safe: a row lock and a check under it, or a unique key, per item.


def test_auto_close_closes_each_ticket_once(app, make, ref):
    customer, long_ago = make.customer(), utcnow() - timedelta(days=8)
    for n in range(6):
        ticket = make.ticket(subject=f"Quiet {n}", requester=customer, category=ref.categories["IT"])
        ticket.status, ticket.resolved_at, ticket.updated_at = "resolved", long_ago, long_ago
    at_once(app, command(app, "tickets", "auto-close"))
    assert count(Ticket, Ticket.status == "closed") == 6
    assert count(TicketEvent, TicketEvent.field == "status") == 6


def test_allowances_grant_each_bank_once(app, make, ref):
    for _ in range(6):
        bank("Business", 0, user=make.customer())
    at_once(app, command(app, "credits", "allowance"))
    assert count(LedgerEntry, LedgerEntry.kind == "allowance") == 6
    assert credits.ledger_mismatches() == []


def test_sla_sweeps_refund_and_warn_once_per_ticket(app, make, ref):
    alice = make.customer()
    make.technician(ref.categories["IT"])
    bank("Business", 5000, user=alice)
    for n in range(8):
        ticket = urgent_ticket(alice, ref, f"sweep-{n}", subject=f"Down {n}")
        if n % 2:  # its reply-by time has passed: refunded
            ticket.due_at = utcnow() - timedelta(minutes=1)
        else:  # most of its reply-by time is used: its agent is warned
            ticket.response_warn_at = utcnow() - timedelta(minutes=1)
    at_once(app, command(app, "credits", "sla-sweep"))
    assert count(LedgerEntry, LedgerEntry.kind == "refund") == 4
    assert count(OutboxMessage, OutboxMessage.kind == "sla_refund") == 4
    assert count(OutboxMessage, OutboxMessage.kind == "sla_at_risk") == 4
    assert credits.ledger_mismatches() == [] and credits.paid_credit_mismatches() == []


def test_billing_sweeps_end_each_subscription_and_charge_each_top_up_once(app, make, ref, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    pack = bs.pack("Team", credits=1200, price=10000)
    for n in range(4):
        customer = make.customer()
        account = bank("Pay as you go", 300, user=customer)
        bs.auto_top_up(account, customer, pack, customer=f"demo_cus_{n}")
        credits.post_entry(account.id, -150, "charge", idempotency_key=f"spend:{n}")  # records a top-up
        subscriber = make.customer()
        business = bank("Business", 0, user=subscriber)
        db.session.add(
            PlanSubscription(  # cancelled, its paid period over: its bank falls back to the default plan
                account_id=business.id,
                plan_id=business.plan_id,
                user_id=subscriber.id,
                status="canceled",
                idempotency_key=f"sub-{n}",
                ends_at=utcnow() - timedelta(hours=1),
            )
        )
    at_once(app, command(app, "billing", "sweep"))
    assert count(PlanSubscription, PlanSubscription.status == "ended") == 4
    assert count(LedgerEntry, LedgerEntry.memo.like("Plan changed from Business to %")) == 4
    assert count(Payment, Payment.kind == "top_up", Payment.status == "paid") == 4
    assert count(LedgerEntry, LedgerEntry.kind == "purchase") == 4
    assert credits.ledger_mismatches() == []


def test_prunes_delete_old_rows_once_without_error(app, make):
    admin, old = make.admin(), utcnow() - timedelta(days=40)
    endpoint = WebhookEndpoint(url="https://hooks.example/x", secret="s" * 32, events=["ticket.created"])
    db.session.add(endpoint)
    db.session.flush()
    for n in range(50):
        done = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=f"evt-{n}",
            event_type="ticket.created",
            body="{}",
            status="delivered",
            created_at=old,
        )
        db.session.add(done)
        db.session.flush()
        db.session.add(WebhookAttempt(delivery_id=done.id, endpoint_id=endpoint.id, started_at=old, ok=True))
        db.session.add(
            IdempotentRequest(
                user_id=admin.id,
                key_hash=f"{n:064d}",
                request_hash="r" * 64,
                status=201,
                body="{}",
                created_at=old,
            )
        )

    def both():
        command(app, "webhooks", "prune")()
        command(app, "api", "prune-idempotency")()

    at_once(app, both, copies=3)
    assert count(WebhookDelivery) == count(WebhookAttempt) == count(IdempotentRequest) == 0
