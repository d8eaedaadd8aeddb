"""What in-app notices keep of a customer whose personal data an admin erased
(events.personal_data_erased; docs/decisions.md, "Erasing a customer's personal data")."""

from sqlalchemy import delete, or_, select

from helpdesk.accounts.erasure import replace_in
from helpdesk.extensions import db
from helpdesk.notices.models import KIND_CREDIT_REQUEST, Notice
from helpdesk.tickets.erasure import requested_ticket_ids
from helpdesk.tickets.models import Message


def erase(user, actor, former, **_event):
    """events.personal_data_erased: guarantees that no notice is left for them, none about the
    tickets they opened (they quote the subject), none about their requests for credits (they
    quote the ticket they were writing), and that the others about a ticket they wrote on (a
    reply of theirs) name them by their erased name. Flushes only."""
    db.session.execute(
        delete(Notice).where(
            or_(
                Notice.user_id == user.id,
                Notice.ticket_id.in_(requested_ticket_ids(user)),
                (Notice.kind == KIND_CREDIT_REQUEST)
                & Notice.text.startswith(f"{former.name} asks", autoescape=True),
            )
        ),
        execution_options={"synchronize_session": False},
    )
    replace_in(
        Notice.text,
        former.name,
        user.name,
        Notice.ticket_id.in_(select(Message.ticket_id).where(Message.author_id == user.id)),
        Notice.text.startswith(f"{former.name} replied on ", autoescape=True),
    )
    db.session.flush()
