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

OBJECT_SHAPES = {
    "checkout.session.completed": SESSION,
    "checkout.session.async_payment_succeeded": SESSION,
    "checkout.session.async_payment_failed": SESSION,
    "checkout.session.expired": SESSION,
    "charge.refunded": CHARGE,
    "charge.dispute.funds_withdrawn": DISPUTE,
    "charge.dispute.funds_reinstated": DISPUTE,
    "charge.dispute.closed": DISPUTE,
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
    return obj if isinstance(obj, dict) else {}
