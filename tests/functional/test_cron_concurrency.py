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
from helpdesk.billing import topup_runner
from helpdesk.billing.models import AutoTopUp, Payment
from helpdesk.credits import ledger as credits
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import imap
from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import InboundMail
from helpdesk.tickets import upload_cleaning, uploads
from helpdesk.tickets.models import Attachment, Ticket
from tests import billing_support as bs
from tests.credit_helpers import bank
from tests.mail_support import FakeImapMailbox, load_eml, renamed

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
    port = box.start()
    for key, value in {
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": port,
        "IMAP_USE_SSL": False,
        "IMAP_USERNAME": "support",
        "IMAP_PASSWORD": "secret",
    }.items():
        monkeypatch.setitem(app.config, key, value)
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
    db.session.add(
        AutoTopUp(
            account_id=account.id,
            user_id=customer.id,
            pack_id=bs.pack("Team", credits=1200, price=10000).id,
            threshold=200,
            provider="demo",
            stripe_customer_id="demo_cus_1",
            payment_method_id="demo_pm_ok",
        )
    )
    db.session.flush()
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
