"""What the mail domain keeps of a customer whose personal data an admin erased
(events.personal_data_erased; docs/decisions.md, "Erasing a customer's personal data").

Mail logs are kept for operations, not as records: the rows that hold the person's mail or words
are deleted rather than blanked. Received mail: everything from their address (raw messages
included, held ones too) and everything received on the tickets they opened. Sent mail (queued
or not, so nothing about them goes out afterwards): everything to them, about the tickets they
opened, carrying a reply of theirs or their request for credits, naming their address, and the
mail about no ticket that names them (an admin's low-balance alert about their bank).
"""

from sqlalchemy import and_, delete, func, or_

from helpdesk.extensions import db
from helpdesk.mail.models import InboundMail, OutboxMessage
from helpdesk.tickets.erasure import authored_message_ids, requested_ticket_ids


def erase(user, actor, former, **_event):
    """events.personal_data_erased: guarantees that no received mail from `former.email` or on
    the tickets `user` opened, and no outbox row to them, about those tickets, quoting them or
    naming them (as above) is left. Flushes only."""
    theirs = requested_ticket_ids(user)
    db.session.execute(
        delete(InboundMail).where(
            or_(func.lower(InboundMail.from_addr) == former.email.lower(), InboundMail.ticket_id.in_(theirs))
        ),
        execution_options={"synchronize_session": False},
    )
    outbox = OutboxMessage
    names_them = or_(
        *(column.contains(former.email, autoescape=True) for column in (outbox.subject, outbox.body_text))
    )
    # The admins' alerts about their bank: "Low credit balance (Erin Doe)", "Bank of Erin Doe: ...",
    # "... the bank of Erin Doe is now at ..." (billing's), in the subject, the body or (not composed
    # yet) the text stored for the worker. The name is matched with what follows it in those
    # sentences, so that a customer whose name starts with theirs keeps their alerts.
    their_bank_sentences = [
        f"({former.name})",
        f"of {former.name}: ",
        f"of {former.name} is ",
        f"of {former.name} now ",
    ]
    about_no_ticket_naming_them = and_(
        outbox.ticket_id.is_(None),
        or_(
            *(
                column.contains(sentence, autoescape=True)
                for sentence in their_bank_sentences
                for column in (outbox.subject, outbox.body_text, outbox.context["text"].as_string())
            )
        ),
    )
    db.session.execute(
        delete(outbox).where(
            or_(
                outbox.user_id == user.id,
                outbox.to_addr == former.email,
                outbox.ticket_id.in_(theirs),
                and_(
                    outbox.kind == "public_reply",
                    outbox.context[("message", "id")].as_integer().in_(authored_message_ids(user)),
                ),
                and_(
                    outbox.kind == "credit_request",
                    outbox.context[("requester", "id")].as_integer() == user.id,
                ),
                names_them,
                about_no_ticket_naming_them,
            )
        ),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()
