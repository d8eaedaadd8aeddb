"""Turn domain events into webhook deliveries, in the transaction of their cause.

Each receiver writes one WebhookDelivery per enabled endpoint that chose the event, and only
flushes: the delivery exists exactly when its cause does (a rolled-back reply sends nothing), and
the worker sends it after the commit. One event id per event, shared by every endpoint it goes to.
"""

import json
import time

from sqlalchemy import select

from helpdesk import events
from helpdesk.extensions import db
from helpdesk.querying import transaction_info
from helpdesk.webhooks import payloads
from helpdesk.webhooks.models import WebhookDelivery, WebhookEndpoint
from helpdesk.webhooks.signing import new_event_id

# History fields that are a change of the ticket itself (not "created", not subscribers).
TICKET_FIELDS = ("status", "priority", "category", "assignee", "tags", "merged", "merged into")
CHARGE_KIND = "charge"  # credits.models.KIND_CHARGE: a ticket's priority paid


def emit(event_type, build, *, internal=False):
    """Queue `event_type` for every enabled endpoint that chose it (internal-note events only to
    endpoints that chose internal notes), its object made by `build()` only when one did (most
    desks have no endpoint: a ticket change then costs one small query). Returns the deliveries."""
    endpoints = [
        endpoint_id
        for endpoint_id, chosen, internal_notes in _enabled_endpoints()
        if event_type in (chosen or ()) and (internal_notes or not internal)
    ]
    if not endpoints:
        return []
    event_id = new_event_id()
    body = json.dumps(
        {"id": event_id, "type": event_type, "created": int(time.time()), "data": {"object": build()}},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    rows = [
        WebhookDelivery(endpoint_id=endpoint_id, event_id=event_id, event_type=event_type, body=body)
        for endpoint_id in endpoints
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


ENABLED = "webhooks_enabled_endpoints"  # transaction_info(): this transaction's enabled endpoints
_ENABLED_ENDPOINTS = select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.internal_notes).where(
    WebhookEndpoint.enabled.is_(True)
)


def _enabled_endpoints():
    """(id, events, internal_notes) of the enabled endpoints, read once per transaction (a paid
    submission sends three events: one small query, not three ORM loads; measured with
    bench/submit.py)."""
    found = transaction_info().get(ENABLED)
    if found is None:
        found = transaction_info()[ENABLED] = db.session.execute(_ENABLED_ENDPOINTS).all()
    return found


OPENING = "webhooks_tickets_opening"  # transaction_info(): tickets recorded as created, not yet announced


OPENED = "webhooks_tickets_opened"  # transaction_info(): ticket id -> (ticket, its ticket.created rows)


def on_ticket_created(ticket):
    transaction_info().get(OPENING, set()).discard(ticket.id)
    rows = emit("ticket.created", lambda: payloads.ticket_with_body(ticket))
    if rows:
        transaction_info().setdefault(OPENED, {})[ticket.id] = (ticket, rows)


def _complete_opening(entry):
    """A ticket opened in this transaction is paid for after `ticket_created` was sent (the
    submission charges the priority of the ticket it has just opened): its ticket.created says
    what it was paid, as the ticket was when it opened, rather than "paid_credits": 0. Same event
    id and time; only the object is made again."""
    opened = transaction_info().get(OPENED, {}).get(entry.ticket_id)
    if opened is None:
        return
    ticket, rows = opened
    event = json.loads(rows[0].body)
    event["data"]["object"] = payloads.ticket_with_body(ticket)
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    for row in rows:
        row.body = body
    db.session.flush()


def on_ticket_changed(ticket, actor, field, old, new):
    """ticket.updated for a change of the ticket; what happens while it is being opened (the
    round-robin's assignment) is part of ticket.created, which is sent after it with that state."""
    if field == "created":
        transaction_info().setdefault(OPENING, set()).add(ticket.id)
        return
    if field not in TICKET_FIELDS or ticket.id in transaction_info().get(OPENING, ()):
        return
    change = {"field": field, "old": old, "new": new, "by": payloads.person(actor)}
    emit("ticket.updated", lambda: {**payloads.ticket(ticket), "change": change})


def on_message_posted(message, first_agent_reply):
    emit("message.created", lambda: payloads.message(message), internal=bool(message.internal))


def on_balance_changed(account, old_balance, entry):
    """A charge for a ticket is its priority paid (time worked is booked with `time:` keys)."""
    if entry.kind != CHARGE_KIND or entry.ticket_id is None or entry.idempotency_key.startswith("time:"):
        return
    _complete_opening(entry)
    emit(
        "priority.paid",
        lambda: {**payloads.ledger_entry(entry), "object": "priority_charge", "credits": -entry.amount},
    )


def on_guarantee_refunded(ticket, credits, entry, alert, target, payer, **_why):
    emit(
        "guarantee.refunded",
        lambda: {
            **payloads.ledger_entry(entry),
            "object": "guarantee_refund",
            "credits": credits,
            "target": target,
        },
    )


def on_credit_alert(alert, label):
    if alert.kind != "low_balance":  # credits.models.ALERT_LOW_BALANCE
        return
    emit(
        "balance.low",
        lambda: {
            "object": "low_balance",
            "bank": payloads.bank(alert.account),
            "balance": alert.balance,
            "threshold": alert.threshold,
            "stage": alert.level,
            "label": label,
        },
    )


def on_payment_credited(payment):
    emit("payment.succeeded", lambda: payloads.payment(payment))


def on_payment_refunded(payment, amount):
    emit("payment.refunded", lambda: {**payloads.payment(payment), "refunded_now": amount})


RECEIVERS = (
    (events.ticket_created, on_ticket_created),
    (events.ticket_changed, on_ticket_changed),
    (events.message_posted, on_message_posted),
    (events.balance_changed, on_balance_changed),
    (events.guarantee_refunded, on_guarantee_refunded),
    (events.credit_alert_raised, on_credit_alert),
    (events.payment_credited, on_payment_credited),
    (events.payment_refunded, on_payment_refunded),
)


def connect():
    for event, receiver in RECEIVERS:
        event.connect(receiver)
