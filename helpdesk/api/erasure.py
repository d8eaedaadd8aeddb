"""What the API keeps of a customer whose personal data an admin erased
(events.personal_data_erased; docs/decisions.md, "Erasing a customer's personal data")."""

from sqlalchemy import delete, or_

from helpdesk.api.models import ApiToken, IdempotentRequest
from helpdesk.extensions import db
from helpdesk.tickets.erasure import requested_ticket_ids

CHUNK = 200  # conditions per statement


def erase(user, actor, former, **_event):
    """events.personal_data_erased: guarantees that no token of `user` is left (the names they gave
    them included: the deactivation revoked them, they are now deleted), nor any answer kept for
    an Idempotency-Key that was theirs, names them (their address; them as a ticket's requester or
    a message's author) or is one of the tickets they opened or its messages (an agent's create
    for them). Flushes only."""
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    kept = IdempotentRequest
    conditions = [
        kept.user_id == user.id,
        kept.body.contains(former.email, autoescape=True),
        # The answers are compact JSON (pydantic): a person is {"id":<id>,"name":...}.
        kept.body.contains(f'"requester":{{"id":{user.id},', autoescape=True),
        kept.body.contains(f'"author":{{"id":{user.id},', autoescape=True),
    ]
    for ticket_id in db.session.scalars(requested_ticket_ids(user)).all():
        conditions += [
            kept.location.endswith(f"/tickets/{ticket_id}"),
            kept.location.contains(f"/tickets/{ticket_id}/"),
        ]
    for start in range(0, len(conditions), CHUNK):
        db.session.execute(delete(kept).where(or_(*conditions[start : start + CHUNK])))
    db.session.flush()
