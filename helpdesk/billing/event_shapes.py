"""The shape a Stripe event must have before anything acts on it: a signed event that lacks a
field we read, or has one of the wrong type, is refused (400) instead of crashing (500).

Only the fields the handlers read are checked; Stripe adds fields freely and those are ignored.
"""

from helpdesk.errors import DomainError


class MalformedEvent(DomainError):
    """A signed event whose shape is not what its type promises; it changes nothing."""


STR, INT, DICT, LIST, BOOL = str, int, dict, list, bool

# Per object: field -> type; a trailing "?" marks a field that may be missing or null.
SESSION = {"id": STR, "mode?": STR, "payment_status?": STR, "amount_total?": INT, "currency?": STR}
SESSION |= {"payment_intent?": STR, "subscription?": STR, "customer?": STR, "setup_intent?": STR}
SESSION |= {"metadata?": DICT, "status?": STR}
CHARGE = {"id": STR, "amount_refunded": INT, "payment_intent?": STR, "currency?": STR}
DISPUTE = {"id": STR, "amount": INT, "currency": STR, "payment_intent?": STR, "charge?": STR}
DISPUTE |= {"status?": STR, "reason?": STR}

INVOICE = {"id": STR, "billing_reason?": STR, "amount_paid?": INT, "currency?": STR, "customer?": STR}
INVOICE |= {"subscription?": STR, "parent?": DICT, "lines?": DICT, "period_start?": INT, "period_end?": INT}
SUBSCRIPTION = {"id": STR, "customer?": STR, "status?": STR, "metadata?": DICT}
SETUP_INTENT = {"id": STR, "customer?": STR, "payment_method?": STR, "status?": STR, "metadata?": DICT}
PAYMENT_INTENT = {"id": STR, "amount": INT, "currency": STR, "customer?": STR, "metadata?": DICT}
PAYMENT_INTENT |= {"status?": STR, "last_payment_error?": DICT}

OBJECT_SHAPES = {
    "checkout.session.completed": SESSION,
    "checkout.session.async_payment_succeeded": SESSION,
    "checkout.session.async_payment_failed": SESSION,
    "checkout.session.expired": SESSION,
    "charge.refunded": CHARGE,
    "charge.dispute.funds_withdrawn": DISPUTE,
    "charge.dispute.funds_reinstated": DISPUTE,
    "charge.dispute.closed": DISPUTE,
    "invoice.paid": INVOICE,
    "invoice.payment_failed": INVOICE,
    "customer.subscription.deleted": SUBSCRIPTION,
    "setup_intent.succeeded": SETUP_INTENT,
    "payment_intent.succeeded": PAYMENT_INTENT,
    "payment_intent.payment_failed": PAYMENT_INTENT,
}


def _type_ok(value, kind):
    if kind is INT:  # JSON true is a Python bool, which is an int: not an amount
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_fields(obj, fields, where):
    """Raise MalformedEvent unless `obj` has every field of `fields` with its type."""
    if not isinstance(obj, dict):
        raise MalformedEvent(f"{where} is not an object")
    for name, kind in fields.items():
        key, optional = name.rstrip("?"), name.endswith("?")
        value = obj.get(key)
        if value is None:
            if optional:
                continue
            raise MalformedEvent(f"{where}.{key} is missing")
        if not _type_ok(value, kind):
            raise MalformedEvent(f"{where}.{key} is not {kind.__name__}")
        if kind is INT and value < 0:
            raise MalformedEvent(f"{where}.{key} is negative")


def check_event(event):
    """The event's data object, once the event and its object have the expected shape."""
    check_fields(event, {"id": STR, "type": STR, "data": DICT}, "event")
    obj = event["data"].get("object")
    shape = OBJECT_SHAPES.get(event["type"])
    if shape is not None:
        check_fields(obj, shape, "data.object")
        if "metadata?" in shape:
            metadata(obj)
    if event["type"].startswith("invoice."):
        invoice_subscription(obj)
        invoice_period(obj)
    if event["type"].startswith("payment_intent.") and obj.get("last_payment_error"):
        check_fields(obj["last_payment_error"], {"code?": STR}, "data.object.last_payment_error")
    return obj if isinstance(obj, dict) else {}


def metadata(obj):
    """The object's metadata as a dict of strings (Stripe's metadata values are strings)."""
    values = obj.get("metadata") or {}
    if not isinstance(values, dict) or any(not isinstance(v, str) for v in values.values()):
        raise MalformedEvent("data.object.metadata holds a value that is not a string")
    return values


def invoice_subscription(invoice):
    """(Stripe subscription id or None, the subscription's metadata) of an invoice: under
    parent.subscription_details in current API versions, at the top in older ones."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    if details is None:
        return invoice.get("subscription"), {}
    check_fields(
        details, {"subscription?": STR, "metadata?": DICT}, "data.object.parent.subscription_details"
    )
    return details.get("subscription") or invoice.get("subscription"), metadata(details)


def invoice_period(invoice):
    """(start, end) in Unix seconds of the period an invoice pays for, or Nones.

    A subscription invoice's own period_start/period_end describe the period just ended (for a
    new subscription, a zero-length one); its line's period is the one being paid for."""
    lines = invoice.get("lines") or {}
    check_fields(lines, {"data?": LIST}, "data.object.lines")
    for line in lines.get("data") or []:
        check_fields(line, {"period?": DICT}, "data.object.lines.data[]")
        if line.get("period"):
            check_fields(line["period"], {"start": INT, "end": INT}, "data.object.lines.data[].period")
            return line["period"]["start"], line["period"]["end"]
    return invoice.get("period_start"), invoice.get("period_end")
