"""The response-target guarantee: a late first reply refunds the priority's charge, once.

Guarantees: the refund is one ledger entry keyed `sla:<ticket id>` (so the reply-time check and
`flask credits sla-sweep` can never both refund), with a system message on the ticket, an alert for
the admins' list and a mail to the requester, all in the same transaction; only plans with the
guarantee, only paid priorities.
"""

from sqlalchemy import select

from helpdesk import events
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import ALERT_SLA_REFUND, KIND_CHARGE, KIND_REFUND, LedgerEntry
from helpdesk.credits.quotes import net_paid, ticket_account
from helpdesk.extensions import db
from helpdesk.tickets.models import Message, Ticket


def apply_guarantee(ticket):
    """Refund a ticket's net charge once if its first public agent reply came after the due time
    and its bank's plan carries the guarantee. Posts a system message and mails the requester.
    Returns the entry or None.
    """
    if ticket.first_response_at is None or ticket.first_response_at <= ticket.due_at:
        return None
    account = ticket_account(ticket)
    if account is None or not account.plan.guarantee:
        return None
    key = f"sla:{ticket.id}"
    if credits.find_entry(key) is not None:
        return None
    account = credits.lock_account(account.id)
    paid = net_paid(ticket)
    if paid <= 0:
        return None
    entry, created = credits.post_entry(
        account.id,
        paid,
        KIND_REFUND,
        idempotency_key=key,
        ticket=ticket,
        memo=f"Response target missed on ticket #{ticket.id}: charge refunded",
    )
    if not created:
        return None
    text = (
        f"The response target for {ticket.priority.name} priority was missed, so the {paid:,} credits"
        " paid for it have been refunded to your bank."
    )
    db.session.add(Message(ticket=ticket, author=None, body=text, internal=False, source="system"))
    alert = credit_alerts.record_alert(account, ALERT_SLA_REFUND, text, ticket=ticket)
    events.guarantee_refunded.send(ticket=ticket, credits=paid, entry=entry, alert=alert)
    db.session.flush()
    return entry


def on_message_posted(message, first_agent_reply):
    """The first public reply by an agent settles the guarantee (a late one refunds)."""
    if first_agent_reply:
        apply_guarantee(message.ticket)


def sla_sweep():
    """Apply the guarantee to every late-answered charged ticket that has no refund yet (idempotent)."""
    charged = select(LedgerEntry.ticket_id).where(
        LedgerEntry.kind == KIND_CHARGE, LedgerEntry.ticket_id.isnot(None)
    )
    refunded = select(LedgerEntry.ticket_id).where(LedgerEntry.idempotency_key.like("sla:%"))
    tickets = db.session.scalars(
        select(Ticket)
        .where(
            Ticket.first_response_at.isnot(None),
            Ticket.first_response_at > Ticket.due_at,
            Ticket.id.in_(charged),
            Ticket.id.notin_(refunded),
        )
        .order_by(Ticket.id)
    ).all()
    return [entry for entry in (apply_guarantee(t) for t in tickets) if entry is not None]
