"""The demo desk's saved replies: two shared in IT, one in Sales, one of the IT technician's own
(idempotent: by title)."""

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.replies.models import SavedReply

DEMO_REPLIES = (
    (
        "IT",
        None,
        "VPN: reinstall the profile",
        "Hi {customer_first_name},\n\nPlease remove the VPN profile, download it again from the portal"
        " and reconnect. If it still drops, reply here with the time it happened.\n\n{agent_name}",
    ),
    (
        "IT",
        None,
        "Printer: clear the queue",
        "Hi {customer_first_name},\n\nOpen Printers, cancel every document in the queue and switch the"
        " printer off and on. Ticket #{ticket_id} stays open until you confirm it prints.",
    ),
    (
        "Sales",
        None,
        "Quote sent",
        "Hi {customer_first_name},\n\nThe quote is attached. It is valid for 30 days.\n\n{agent_name}",
    ),
    (
        None,
        "it.tech@example.com",
        "Thanks, closing",
        "Thanks {customer_first_name}! I'm resolving #{ticket_id}; reply to reopen it.",
    ),
)


def seed_saved_replies(users, categories):
    made = 0
    for category, owner, title, body in DEMO_REPLIES:
        if db.session.scalar(select(SavedReply.id).where(SavedReply.title == title)):
            continue
        db.session.add(
            SavedReply(
                title=title,
                body=body,
                category_id=categories[category].id if category else None,
                owner_id=users[owner].id if owner else None,
            )
        )
        made += 1
    db.session.flush()
    return made
