"""What webhook deliveries keep of a customer whose personal data an admin erased
(events.personal_data_erased; docs/decisions.md, "Erasing a customer's personal data").

A delivery's body is fixed when it is written, and carries people (name and address), tickets
(subject, description) and messages (text). The deliveries that carry theirs are deleted, with
their attempts: a queued one is then never sent, and the log keeps none of it. What an endpoint
already received is its owner's to erase.
"""

from sqlalchemy import delete, or_, select

from helpdesk.credits.models import CreditAccount
from helpdesk.extensions import db
from helpdesk.tickets.erasure import requested_ticket_ids
from helpdesk.webhooks.models import WebhookDelivery

CHUNK = 200  # ticket numbers per statement


def erase(user, actor, former, **_event):
    """events.personal_data_erased: guarantees that no delivery is left that names them (as
    requester, author or bank owner: their address is in every person object), or holds one of
    the tickets they opened or a message on one. Flushes only."""
    body = WebhookDelivery.body
    patterns = [f'"email":"{former.email}"']
    ticket_ids = db.session.scalars(requested_ticket_ids(user)).all()
    for ticket_id in ticket_ids:
        patterns += [f'"object":"ticket","id":{ticket_id},', f'"ticket_id":{ticket_id},']
    banks = db.session.scalars(select(CreditAccount.id).where(CreditAccount.user_id == user.id)).all()
    patterns += [f'"object":"bank","id":{bank_id},' for bank_id in banks]
    for start in range(0, len(patterns), CHUNK):
        chunk = patterns[start : start + CHUNK]
        db.session.execute(
            delete(WebhookDelivery).where(or_(*(body.contains(p, autoescape=True) for p in chunk))),
            execution_options={"synchronize_session": False},
        )
    db.session.flush()
