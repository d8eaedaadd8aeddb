"""Webhook deliveries: signed as the README says, written with their cause, sent by the worker to a
real local HTTP server, retried with backoff, refused for private addresses, never redirected,
timed out, redelivered, and an endpoint failing for a day disabled with a mail to the admins."""

import json
import socket
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.accounts.models import AgentAvailability
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail.delivery import run_worker
from helpdesk.mail.models import OutboxMessage
from helpdesk.tickets import lifecycle, round_robin
from helpdesk.webhooks import delivery, endpoints, transport
from helpdesk.webhooks.models import WebhookDelivery
from helpdesk.webhooks.signing import signature_header
from tests.functional.webhook_support import (
    Receiver,
    TLSReceiver,
    add_endpoint,
    attempts,
    deliveries,
    readme_verifier,
    self_signed_certificate,
)


@pytest.fixture
def private_ok(app, monkeypatch):
    """Receivers on this machine allowed (the local test server), as WEBHOOK_ALLOW_PRIVATE does."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def desk(make, ref):
    it = ref.categories["IT"]
    agent = make.technician(it, name="Ivan IT", email="ivan@example.com")
    admin = make.admin(name="Ada Admin", email="ada@example.com")
    alice = make.customer(name="Alice", email="alice@example.com")
    db.session.commit()
    return type("Desk", (), {"it": it, "agent": agent, "admin": admin, "alice": alice, "ref": ref})


def _open_ticket(desk, subject="Printer on fire"):
    ticket, _ = lifecycle.create_ticket(
        desk.alice,
        subject=subject,
        body="Smoke everywhere.",
        category_id=desk.it.id,
        priority_id=desk.ref.priorities["Low"].id,
    )
    db.session.commit()
    return ticket


# --- signing -------------------------------------------------------------------------------------


def test_the_readme_snippet_verifies_our_signature_and_refuses_tampering_and_old_ones():
    verify = readme_verifier()
    body = b'{"id":"evt_1","type":"ticket.created"}'
    header = signature_header("whsec_test", body)
    assert verify(body, header, "whsec_test")
    assert not verify(body + b" ", header, "whsec_test")  # another body
    assert not verify(body, header, "whsec_other")  # another secret
    old = signature_header("whsec_test", body, timestamp=time.time() - 3600)
    assert not verify(body, old, "whsec_test")  # outside the tolerance: a replay
    assert not verify(body, "nonsense", "whsec_test")


def test_a_delivery_reaches_a_real_server_signed_with_the_endpoints_secret(desk, receiver, private_ok):
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    receiver.secret = endpoint.secret
    ticket = _open_ticket(desk)
    counts = delivery.process_due()
    assert counts["webhooks delivered"] == 1
    assert receiver.verified == [True]  # the server checked it with the README's snippet
    [request] = receiver.requests
    event = json.loads(request["body"])
    assert request["path"] == "/hooks"
    assert request["headers"]["Helpdesk-Event-Id"] == event["id"] and event["id"].startswith("evt_")
    assert request["headers"]["Helpdesk-Event-Type"] == "ticket.created" == event["type"]
    assert request["headers"]["Content-Type"] == "application/json"
    assert abs(event["created"] - time.time()) < 60
    obj = event["data"]["object"]
    assert (obj["object"], obj["id"], obj["subject"], obj["body"]) == (
        "ticket",
        ticket.id,
        "Printer on fire",
        "Smoke everywhere.",
    )
    assert obj["requester"]["email"] == "alice@example.com"
    assert endpoint.secret not in request["body"].decode()
    [attempt] = attempts(endpoint)
    assert attempt.ok and attempt.status_code == 200 and attempt.duration_ms >= 0
    assert deliveries(endpoint)[0].status == "delivered"


def test_the_outbox_worker_command_delivers_webhooks_too(desk, receiver, private_ok):
    add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    _open_ticket(desk)
    said = []
    counts = run_worker(once=True, echo=said.append)
    assert counts["webhooks delivered"] == 1 and len(receiver.requests) == 1
    assert "webhooks delivered 1" in said[0]


# --- written with the cause ----------------------------------------------------------------------


def test_an_event_exists_exactly_when_its_cause_commits(desk, receiver, private_ok):
    add_endpoint(desk.admin, receiver.url, events=["message.created"])
    ticket = _open_ticket(desk)
    savepoint = db.session.begin_nested()
    lifecycle.add_message(ticket, desk.agent, "This reply is rolled back.")
    assert len(deliveries()) == 1  # written in the reply's own transaction...
    savepoint.rollback()
    assert deliveries() == []  # ...and gone with it
    delivery.process_due()
    assert receiver.requests == []
    lifecycle.add_message(ticket, desk.agent, "This one stays.")
    db.session.commit()
    delivery.process_due()
    [event] = receiver.events()
    assert event["type"] == "message.created" and event["data"]["object"]["body"] == "This one stays."


def test_only_endpoints_that_chose_the_event_and_are_enabled_get_it(desk):
    chose = add_endpoint(desk.admin, "https://hooks.example.com/a", events=["ticket.created"])
    other = add_endpoint(desk.admin, "https://hooks.example.com/b", events=["payment.succeeded"])
    off = add_endpoint(desk.admin, "https://hooks.example.com/c", events=["ticket.created"])
    endpoints.set_enabled(off, desk.admin, False)
    _open_ticket(desk)
    assert [d.endpoint_id for d in deliveries()] == [chose.id]
    assert deliveries(other) == [] and deliveries(off) == []


def test_internal_notes_go_only_to_endpoints_that_chose_them(desk):
    public_only = add_endpoint(desk.admin, "https://hooks.example.com/a", events=["message.created"])
    with_notes = add_endpoint(
        desk.admin, "https://hooks.example.com/b", events=["message.created"], internal_notes=True
    )
    ticket = _open_ticket(desk)
    lifecycle.add_message(ticket, desk.agent, "Customer is grumpy.", internal=True)
    db.session.commit()
    assert deliveries(public_only) == []
    [note] = deliveries(with_notes)
    obj = json.loads(note.body)["data"]["object"]
    assert obj["internal"] is True and obj["body"] == "Customer is grumpy."


def test_a_ticket_change_is_ticket_updated_with_what_changed(desk):
    endpoint = add_endpoint(desk.admin, "https://hooks.example.com/a", events=["ticket.updated"])
    ticket = _open_ticket(desk)
    assert deliveries(endpoint) == []  # creation is ticket.created, not an update
    lifecycle.set_status(ticket, desk.agent, "resolved")
    db.session.commit()
    [row] = deliveries(endpoint)
    obj = json.loads(row.body)["data"]["object"]
    assert obj["status"] == "resolved"
    assert obj["change"] == {
        "field": "status",
        "old": "new",
        "new": "resolved",
        "by": {"id": desk.agent.id, "name": "Ivan IT", "email": "ivan@example.com", "role": "technician"},
    }


# --- retries and backoff -------------------------------------------------------------------------


def test_failures_are_retried_on_a_doubling_schedule_then_given_up(
    app, desk, receiver, private_ok, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 4)
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    receiver.status = 500
    _open_ticket(desk)
    [row] = deliveries(endpoint)
    now = utcnow()
    seen = []
    for _ in range(3):
        counts = delivery.process_due(now=now)
        assert counts["webhooks deferred"] == 1
        db.session.refresh(row)
        seen.append(row.next_attempt_at - now)
        assert delivery.process_due(now=now + seen[-1] - timedelta(seconds=1)) == {
            "webhooks delivered": 0,
            "webhooks deferred": 0,
            "webhooks failed": 0,
        }  # not due before its time
        now += seen[-1]
    assert seen == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert delivery.process_due(now=now)["webhooks failed"] == 1  # the 4th and last attempt
    db.session.refresh(row)
    assert row.status == "failed" and row.last_error == "HTTP 500 Internal Server Error"
    assert [a.status_code for a in attempts(endpoint)] == [500, 500, 500, 500]
    assert len(receiver.requests) == 4
    assert len({r["headers"]["Helpdesk-Event-Id"] for r in receiver.requests}) == 1  # same event


def test_the_backoff_is_capped(app):
    assert delivery.backoff(1) == timedelta(minutes=1)
    assert delivery.backoff(5) == timedelta(minutes=16)
    assert delivery.backoff(12) == timedelta(hours=4)
    # 14 attempts span a day: the "failing for a day" rule can be reached by one event alone
    total = sum((delivery.backoff(n) for n in range(1, app.config["WEBHOOK_MAX_ATTEMPTS"])), timedelta())
    assert total >= timedelta(hours=24)


def test_a_success_after_failures_delivers_and_clears_the_failure_clock(desk, receiver, private_ok):
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    receiver.status = 503
    _open_ticket(desk)
    now = utcnow()
    delivery.process_due(now=now)
    db.session.refresh(endpoint)
    assert endpoint.failing_since is not None
    receiver.status = 204
    assert delivery.process_due(now=now + timedelta(minutes=1))["webhooks delivered"] == 1
    db.session.refresh(endpoint)
    assert endpoint.failing_since is None and endpoint.enabled


class SlowReceivers:
    """Every attempt takes `seconds` on the worker's clock (delivery.utcnow, made a counter here);
    once the clock passes `second_worker_at`, a second worker's round runs, in the middle of the
    first worker's batch. Records which event ids were sent, by which worker."""

    def __init__(self, monkeypatch, seconds, second_worker_at):
        self.start = self.clock = utcnow()
        self.seconds, self.second_worker_at = seconds, timedelta(seconds=second_worker_at)
        self.sent, self.worker, self.second_round = [], "first", None
        monkeypatch.setattr(delivery, "utcnow", lambda: self.clock)
        monkeypatch.setattr(delivery, "send", self.send)

    def send(self, url, secret, body, event_id, event_type):
        self.sent.append((self.worker, event_id))
        self.clock += timedelta(seconds=self.seconds)
        if self.second_round is None and self.clock - self.start > self.second_worker_at:
            self.worker, self.second_round = "second", {}  # (not again from its own sends)
            self.second_round = delivery.process_due()
            self.worker = "first"
        return transport.Answer(204, None, self.seconds * 1000)


def _twenty_events(desk):
    endpoint = add_endpoint(desk.admin, "https://hooks.example.com/in", events=["ticket.created"])
    for n in range(20):
        _open_ticket(desk, subject=f"Printer {n}")
    assert len(deliveries(endpoint)) == 20
    return endpoint


def test_a_batch_of_slow_receivers_outlasting_the_old_lease_is_not_sent_twice(app, desk, monkeypatch):
    """A full batch (WEBHOOK_WORKER_BATCH 20) of receivers that each use the whole 5 s, and 2 s
    more for the name lookup and the outcome: 140 s. The claim held them 120 s (the old
    WEBHOOK_LEASE_SECONDS alone), so a second worker's round at 126 s claimed and sent the last
    two again. The lease covers the batch's worst case: the second round finds nothing due."""
    assert (app.config["WEBHOOK_WORKER_BATCH"], app.config["WEBHOOK_TIMEOUT_SECONDS"]) == (20, 5)
    assert app.config["WEBHOOK_LEASE_SECONDS"] == 120
    _twenty_events(desk)
    slow = SlowReceivers(monkeypatch, seconds=7, second_worker_at=120)
    assert delivery.process_due()["webhooks delivered"] == 20
    ids = [event_id for _worker, event_id in slow.sent]
    assert len(ids) == 20 and len(set(ids)) == 20  # each event once
    assert slow.second_round == {"webhooks delivered": 0, "webhooks deferred": 0, "webhooks failed": 0}


def test_a_delivery_claimed_again_after_its_lease_is_sent_by_the_new_claim_only(app, desk, monkeypatch):
    """Receivers far slower than the timeout (30 s each: a lookup that hangs): the batch outlasts
    even its lease, and a second worker claims what is left. The first worker checks its claim
    before each attempt and leaves those to it: every event is still sent once."""
    endpoint = _twenty_events(desk)
    assert delivery.lease(20) == timedelta(seconds=220)
    slow = SlowReceivers(monkeypatch, seconds=30, second_worker_at=220)  # the lease: 20 x 5 s + 120 s
    first_round = delivery.process_due()
    ids = [event_id for _worker, event_id in slow.sent]
    assert len(ids) == 20 and len(set(ids)) == 20
    second = slow.second_round["webhooks delivered"]
    assert second > 0 and first_round["webhooks delivered"] + second == 20
    assert {w for w, _ in slow.sent} == {"first", "second"}
    assert all(row.status == "delivered" for row in deliveries(endpoint))


# --- the network rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hooks",
        "http://10.1.2.3/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/hooks",
        "http://localhost:{port}/hooks",  # a name that resolves to loopback
        "http://192.168.0.10/hooks",
        "http://[::ffff:127.0.0.1]:{port}/hooks",
        "http://0.0.0.0:{port}/hooks",
    ],
)
def test_private_and_loopback_addresses_are_refused(app, receiver, url):
    answer = transport.post(
        url.format(port=receiver.port),
        b"{}",
        {},
        timeout=5,
        allow_private=app.config["WEBHOOK_ALLOW_PRIVATE"],
    )
    assert not answer.ok and answer.status_code is None
    assert answer.error.startswith("refused:") and "WEBHOOK_ALLOW_PRIVATE" in answer.error
    assert receiver.requests == []


def test_a_name_resolving_to_a_private_address_is_refused_even_among_public_ones(receiver, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "hooks.example.com":  # the attacker's DNS: one public, one loopback answer
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", receiver.port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", receiver.port)),
            ]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    answer = transport.post(
        f"http://hooks.example.com:{receiver.port}/", b"{}", {}, timeout=5, allow_private=False
    )
    assert (
        answer.error
        == "refused: hooks.example.com resolves to 127.0.0.1 is a loopback address (WEBHOOK_ALLOW_PRIVATE is off)"
    )
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(receiver, monkeypatch):
    """Resolved once per attempt and pinned: a second lookup (DNS rebinding) is never made."""
    real, lookups = socket.getaddrinfo, []

    def fake(host, *args, **kwargs):
        if host == "hooks.example.com":
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", receiver.port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    answer = transport.post(
        f"http://hooks.example.com:{receiver.port}/in", b"{}", {}, timeout=5, allow_private=True
    )
    assert answer.ok and lookups == ["hooks.example.com"]
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.example.com:{receiver.port}"


def test_loopback_is_allowed_with_webhook_allow_private(app, receiver, private_ok):
    answer = transport.post(
        receiver.url, b"{}", {}, timeout=5, allow_private=app.config["WEBHOOK_ALLOW_PRIVATE"]
    )
    assert answer.ok and answer.status_code == 200 and len(receiver.requests) == 1


def test_a_refused_address_is_logged_as_a_failed_attempt(app, desk, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)  # to register it; refused when sent
    endpoint = add_endpoint(desk.admin, "http://127.0.0.1:9/hooks", events=["ticket.created"])
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    _open_ticket(desk)
    assert delivery.process_due()["webhooks deferred"] == 1
    [attempt] = attempts(endpoint)
    assert not attempt.ok and attempt.error.startswith("refused: 127.0.0.1")


def _stored_endpoint(admin, url):
    """An endpoint whose URL is stored as it is (as the form let any URL through before it checked
    that it can be encoded)."""
    endpoint = add_endpoint(admin, "https://hooks.example.com/in", events=["ticket.created"])
    endpoint.url = url
    db.session.commit()
    return endpoint


def test_a_url_with_non_ascii_characters_is_requested_encoded_and_the_others_go_too(
    desk, receiver, private_ok
):
    """The audit's crash: http.client sends ASCII only, so /é/ü?q=☃ ended the worker's round with
    a UnicodeEncodeError and every delivery claimed with it waited for ever."""
    odd = add_endpoint(desk.admin, receiver.url + "/é/ü?q=☃", events=["ticket.created"])
    stored = _stored_endpoint(desk.admin, receiver.url + "/ß")  # from before the form checked URLs
    healthy = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    assert odd.url == receiver.url + "/é/ü?q=☃"  # kept as typed
    _open_ticket(desk)
    assert delivery.process_due()["webhooks delivered"] == 3
    assert sorted(r["path"] for r in receiver.requests) == [
        "/hooks",
        "/hooks/%C3%9F",
        "/hooks/%C3%A9/%C3%BC?q=%E2%98%83",
    ]
    assert all(attempt.ok for e in (odd, stored, healthy) for attempt in attempts(e))


def test_a_non_ascii_host_is_requested_by_its_idna_name(app, receiver, private_ok, monkeypatch):
    looked_up = []
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        looked_up.append(host)
        return real("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    url = f"http://bücher.example:{receiver.port}/in"
    answer = transport.post(url, b"{}", {}, timeout=5, allow_private=True)
    assert answer.ok and looked_up[0] == "xn--bcher-kva.example"  # then the checked address
    assert receiver.requests[0]["headers"]["Host"] == f"xn--bcher-kva.example:{receiver.port}"


def test_a_stored_url_that_cannot_be_encoded_is_a_failed_attempt_in_its_log(desk, receiver, private_ok):
    bad = _stored_endpoint(desk.admin, "http://hooks..bücher.example/in")
    healthy = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    _open_ticket(desk)
    counts = delivery.process_due()
    assert counts["webhooks delivered"] == 1 and counts["webhooks deferred"] == 1
    [attempt] = attempts(bad)
    assert not attempt.ok and attempt.error.startswith("not a valid URL: its host name cannot be encoded")
    assert [a.ok for a in attempts(healthy)] == [True]


def test_an_unexpected_error_is_one_failed_attempt_not_the_end_of_the_round(
    app, desk, receiver, private_ok, monkeypatch, caplog
):
    """Whatever goes wrong with one delivery is logged and recorded in that endpoint's log; the
    deliveries claimed with it are sent (before, the round ended there and they waited for ever)."""
    broken = add_endpoint(desk.admin, receiver.url + "/broken", events=["ticket.created"])
    healthy = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    real_exchange = transport._exchange

    def exchange(connection, parts, *args):
        if parts.path == "/hooks/broken":
            raise ValueError("something nobody expected")
        return real_exchange(connection, parts, *args)

    monkeypatch.setattr(transport, "_exchange", exchange)
    _open_ticket(desk)
    said = []
    counts = run_worker(once=True, echo=said.append)
    assert counts["webhooks delivered"] == 1 and counts["webhooks deferred"] == 1
    [attempt] = attempts(broken)
    assert not attempt.ok and attempt.error == "not sent: ValueError: something nobody expected"
    [row] = deliveries(broken)
    assert row.status == "queued" and row.last_error == attempt.error
    assert row.next_attempt_at > utcnow()  # retried after the backoff, like any failure
    assert [a.ok for a in attempts(healthy)] == [True]
    assert db.session.get(type(broken), broken.id).failing_since is not None
    assert "could not be sent" in caplog.text


def test_a_redirect_is_not_followed(desk, receiver, private_ok):
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    receiver.status, receiver.location = 302, f"http://127.0.0.1:{receiver.port}/elsewhere"
    _open_ticket(desk)
    assert delivery.process_due()["webhooks deferred"] == 1
    assert [r["path"] for r in receiver.requests] == ["/hooks"]  # never /elsewhere
    [attempt] = attempts(endpoint)
    assert attempt.status_code == 302 and not attempt.ok
    assert attempt.error == f"redirect not followed (to http://127.0.0.1:{receiver.port}/elsewhere)"


def test_a_slow_receiver_times_out(app, desk, receiver, private_ok, monkeypatch):
    assert app.config["WEBHOOK_TIMEOUT_SECONDS"] == 5  # the setting's default
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.3)
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    receiver.delay = 1.5
    _open_ticket(desk)
    started = time.monotonic()
    assert delivery.process_due()["webhooks deferred"] == 1
    assert time.monotonic() - started < 1.2
    [attempt] = attempts(endpoint)
    assert attempt.error == "timed out after 0.3 s" and attempt.status_code is None


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_timeout(
    app, desk, receiver, private_ok, monkeypatch
):
    """Each read would arrive within the socket's timeout; the attempt as a whole still may not
    take longer than WEBHOOK_TIMEOUT_SECONDS."""
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.5)
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    receiver.trickle = True
    _open_ticket(desk)
    started = time.monotonic()
    assert delivery.process_due()["webhooks deferred"] == 1
    assert time.monotonic() - started < 1.5
    [attempt] = attempts(endpoint)
    assert attempt.error == "timed out after 0.5 s" and 450 <= attempt.duration_ms < 1500


def test_a_refused_connection_is_a_failure_to_retry(app, desk, private_ok):
    with Receiver() as gone:
        url = gone.url
    endpoint = add_endpoint(desk.admin, url, events=["ticket.created"])
    _open_ticket(desk)
    assert delivery.process_due()["webhooks deferred"] == 1
    [attempt] = attempts(endpoint)
    assert "ConnectionRefusedError" in attempt.error


# --- redeliver and auto-disable ------------------------------------------------------------------


def test_redeliver_sends_the_same_event_again(desk, receiver, private_ok):
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    _open_ticket(desk)
    delivery.process_due()
    [row] = deliveries(endpoint)
    endpoints.redeliver(row, desk.admin)
    db.session.commit()
    assert row.status == "queued" and row.attempts == 0
    assert delivery.process_due()["webhooks delivered"] == 1
    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"]["Helpdesk-Event-Id"] == second["headers"]["Helpdesk-Event-Id"] == row.event_id
    assert len(attempts(endpoint)) == 2


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_admins_mailed(desk, receiver, private_ok):
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    receiver.status = 500
    _open_ticket(desk)
    start = utcnow()
    delivery.process_due(now=start)
    db.session.refresh(endpoint)
    assert endpoint.enabled and endpoint.failing_since == start
    almost = start + timedelta(hours=23)
    delivery.process_due(now=almost)
    db.session.refresh(endpoint)
    assert endpoint.enabled  # 23 hours of failures: not yet
    assert (
        db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "admin_alert"))
        == 0
    )
    _open_ticket(desk, subject="Another")  # more events keep coming, and keep failing
    delivery.process_due(now=start + timedelta(hours=24, minutes=1))
    db.session.refresh(endpoint)
    assert not endpoint.enabled
    assert "every delivery failed for 24 hours" in endpoint.disabled_reason
    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "admin_alert")).all()
    assert mail.to_addr == "ada@example.com" and receiver.url in mail.subject
    sent = len(receiver.requests)
    delivery.process_due(now=start + timedelta(hours=30))
    assert len(receiver.requests) == sent  # a disabled endpoint is sent nothing
    queued = db.session.scalar(
        select(func.count(WebhookDelivery.id)).where(WebhookDelivery.status == "queued")
    )
    assert queued == 2  # they wait for the endpoint to be enabled again
    receiver.status = 200
    endpoints.set_enabled(endpoint, desk.admin, True)
    db.session.commit()
    assert delivery.process_due(now=start + timedelta(hours=31))["webhooks delivered"] == 2


def test_prune_deletes_old_finished_deliveries_and_attempts_but_keeps_queued_ones(
    app, desk, receiver, private_ok
):
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    _open_ticket(desk)
    delivery.process_due()  # delivered, one attempt
    receiver.status = 500
    _open_ticket(desk, subject="Still queued")
    delivery.process_due()  # queued for a retry, one failed attempt
    old = utcnow() - timedelta(days=40)
    for row in deliveries(endpoint):
        row.created_at = old
    for attempt in attempts(endpoint):
        attempt.started_at = old
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["webhooks", "prune", "--days", "30"])
    assert result.exit_code == 0 and "deleted 1 deliveries and 2 attempts" in result.output
    db.session.expire_all()
    [kept] = deliveries(endpoint)
    assert kept.status == "queued" and attempts(endpoint) == []


def test_an_endpoint_deleted_while_its_delivery_is_on_the_way_is_no_trouble(
    desk, receiver, private_ok, monkeypatch
):
    endpoint = add_endpoint(desk.admin, receiver.url, events=["ticket.created"])
    _open_ticket(desk)
    real_send = delivery.send

    def send_then_delete(*args):
        answer = real_send(*args)
        endpoints.delete_endpoint(db.session.get(type(endpoint), endpoint.id), desk.admin)
        db.session.commit()  # an admin deleted it meanwhile
        return answer

    monkeypatch.setattr(delivery, "send", send_then_delete)
    assert delivery.process_due() == {"webhooks delivered": 0, "webhooks deferred": 0, "webhooks failed": 0}
    assert len(receiver.requests) == 1 and deliveries() == []


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """A TLS receiver on 127.0.0.1 with a certificate for hooks.example.com, which this process
    trusts (SSL_CERT_FILE); hooks.example.com and other.example.com resolve to 127.0.0.1."""
    cert, key = self_signed_certificate(tmp_path, "hooks.example.com")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host in ("hooks.example.com", "other.example.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", args[0] if args else 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with TLSReceiver(cert, key) as server:
        yield server


def test_https_goes_to_the_checked_address_and_verifies_the_certificate_for_the_name(tls_receiver):
    answer = transport.post(
        f"https://hooks.example.com:{tls_receiver.port}/in", b"{}", {}, timeout=5, allow_private=True
    )
    assert answer.ok, answer.error
    assert tls_receiver.requests[0]["headers"]["Host"] == f"hooks.example.com:{tls_receiver.port}"


def test_https_refuses_a_certificate_for_another_name(tls_receiver):
    answer = transport.post(
        f"https://other.example.com:{tls_receiver.port}/in", b"{}", {}, timeout=5, allow_private=True
    )
    assert (
        not answer.ok and "SSLCertVerificationError" in answer.error and "other.example.com" in answer.error
    )
    assert tls_receiver.requests == []


def test_a_round_robin_assignment_while_opening_is_part_of_ticket_created(desk, make):
    endpoint = add_endpoint(
        desk.admin, "https://hooks.example.com/a", events=["ticket.created", "ticket.updated"]
    )
    round_robin.set_enabled(desk.admin, desk.it, True)
    db.session.add(AgentAvailability(user_id=desk.agent.id, round_robin=True, away=False))
    db.session.commit()
    ticket = _open_ticket(desk)
    assert ticket.assignee_id == desk.agent.id
    [created] = [json.loads(d.body) for d in deliveries(endpoint)]  # no ticket.updated before it
    assert created["type"] == "ticket.created"
    assert created["data"]["object"]["assignee"]["id"] == desk.agent.id
    lifecycle.set_status(ticket, desk.agent, "open")
    db.session.commit()
    assert [d.event_type for d in deliveries(endpoint)] == ["ticket.created", "ticket.updated"]
