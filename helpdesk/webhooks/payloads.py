"""What a webhook says: the JSON objects of each event, built from the rows at the time of the cause.

No secrets and no internal text: a ticket object never carries a note; a message object carries
its body only when it is a public reply, or an internal note sent to an endpoint that chose
"internal notes" (see README "Webhooks"). People appear with id, name and e-mail address, as the
integrations (CRM, chat) need to match them; no password, token or session data is ever read.
"""

from helpdesk.web import public_url


def _time(value):
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def person(user):
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "email": user.email, "role": user.role}


def ticket(item):
    """A ticket as integrations see it (the agent console's link included)."""
    return {
        "object": "ticket",
        "id": item.id,
        "subject": item.subject,
        "status": item.status,
        "priority": item.priority.name if item.priority else None,
        "category": item.category.name if item.category else None,
        "requester": person(item.requester),
        "assignee": person(item.assignee),
        "tags": sorted(item.tag_names),
        "paid_credits": item.paid_credits,
        "version": item.version,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
        "url": public_url("tickets_agent.ticket", ticket_id=item.id),
    }


def ticket_with_body(item):
    """A new ticket: its first message (the customer's own text) included."""
    return {**ticket(item), "body": item.body}


def message(item):
    """A reply or an internal note (the caller decides whether a note is sent at all)."""
    return {
        "object": "message",
        "id": item.id,
        "ticket_id": item.ticket_id,
        "sequence": item.sequence,  # the API's after_sequence cursor
        "internal": bool(item.internal),
        "author": person(item.author),
        "body": item.body,
        "source": item.source,
        "created_at": _time(item.created_at),
    }


def bank(account):
    return {"object": "bank", "id": account.id, "owner": account.owner_name, "balance": account.balance}


def ledger_entry(entry):
    return {
        "object": "ledger_entry",
        "id": entry.id,
        "bank_id": entry.account_id,
        "amount": entry.amount,
        "kind": entry.kind,
        "balance_after": entry.balance_after,
        "ticket_id": entry.ticket_id,
        "created_at": _time(entry.created_at),
    }


def payment(item):
    return {
        "object": "payment",
        "id": item.id,
        "bank_id": item.account_id,
        "customer_id": item.user_id,
        "amount": item.amount,
        "currency": item.currency,
        "credits": item.credits,
        "status": item.status,
        "amount_refunded": item.amount_refunded,
        "top_up": bool(item.is_top_up),
        "created_at": _time(item.created_at),
    }
