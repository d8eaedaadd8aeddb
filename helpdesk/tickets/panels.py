"""What the tickets domain shows on other domains' pages: the ticket draft waiting for its author
while they buy credits (kept in their session, so it survives the trip to the card checkout)."""

from flask import session, url_for

from helpdesk.tickets import drafts

WAITING_DRAFT = "ticket_draft_after_purchase"


def remember_for_purchase(draft):
    """Bring the author back to `draft` once a purchase is credited (see take_waiting_draft)."""
    session[WAITING_DRAFT] = draft.id


def waiting_draft(user):
    """The draft `user` left to buy credits, while it lasts (None when there is none or it expired)."""
    if WAITING_DRAFT not in session:
        return None
    draft = drafts.get_draft(user, session[WAITING_DRAFT])
    if draft is None:
        session.pop(WAITING_DRAFT, None)
    return draft


def take_waiting_draft(user):
    """The waiting draft, forgotten from the session: the return to it happens once."""
    draft = waiting_draft(user)
    if draft is not None:
        session.pop(WAITING_DRAFT, None)
    return draft


def draft_url(draft):
    """The new-ticket form filled in from `draft`."""
    return url_for("tickets_portal.new_ticket", draft=draft.id)
