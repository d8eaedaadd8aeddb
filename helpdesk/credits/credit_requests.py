"""Members asking their managers for credits: "Ask a manager for credits" on the submit form (the
bank is short, or their monthly cap is reached) or on the billing page.

Guarantees:
- only a member who spends from their organization's shared bank and may not buy for it asks
  (policy.can_ask_for_credits), and only when the organization has an active manager;
- the amount and the reason of a request from a draft are computed here from a fresh quote, never
  taken from the form;
- the same request (requester, reason, amount, subject) within REPEAT_WINDOW is not sent again,
  and a member sends at most MAX_PER_WINDOW requests in that window, so managers are not flooded
  (a member's requests are checked one at a time: copies sent at once are the same request);
- a request sent is one CreditRequest row and one `credit_requested` event (a notice and a mail
  for each manager), in the caller's transaction.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from helpdesk import events, policy
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits import ledger as credits
from helpdesk.credits import quotes
from helpdesk.credits.models import REQUEST_CAP, REQUEST_REASONS, REQUEST_SHORT, CreditRequest
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import is_row_id, lock_name

REPEAT_WINDOW = timedelta(hours=1)
MAX_PER_WINDOW = 5
MAX_AMOUNT = 1_000_000


@dataclass(frozen=True)
class AskResult:
    """The request, the managers told of it, and whether it was sent now (False: a repeat)."""

    request: CreditRequest
    managers: list
    sent: bool


def managers_of(account):
    """The active managers of the organization that owns a shared bank, by name."""
    people = [u for u in credit_alerts.bank_users(account) if u.is_org_manager and u.active]
    return sorted(people, key=lambda u: (u.name.lower(), u.id))


def _link(request):
    """Where a manager acts on the request: the buy page, or the members' limits."""
    if request.reason == REQUEST_CAP:
        return ("credits_portal.organization_usage", {"_anchor": f"member-{request.requester_id}"})
    return ("billing.index", {"request": request.id})


def ask(member, *, reason, amount, subject="", priority_id=None):
    """Ask the managers of `member`'s shared bank for `amount` credits. Returns an AskResult."""
    account = credits.account_for(member)
    if not policy.can_ask_for_credits(member, account):
        raise NotAllowed("Only members who spend from their organization's shared bank ask its managers.")
    if reason not in REQUEST_REASONS or not 0 < amount <= MAX_AMOUNT:
        raise ValidationFailed("Ask for between 1 and 1,000,000 credits.")
    managers = managers_of(account)
    if not managers:
        raise ValidationFailed("Your organization has no manager to ask: please contact support.")
    subject = (subject or "").strip()[:200]
    # One request of a member at a time: the copies of a double click (two app servers) would
    # each find no twin yet, and the managers would get each as a notice and a mail.
    lock_name(f"credit-requests:{member.id}")
    recent = db.session.scalars(
        select(CreditRequest).where(
            CreditRequest.requester_id == member.id, CreditRequest.created_at >= utcnow() - REPEAT_WINDOW
        )
    ).all()
    twin = next((r for r in recent if (r.reason, r.amount, r.subject) == (reason, amount, subject)), None)
    if twin is not None:
        return AskResult(request=twin, managers=managers, sent=False)
    if len(recent) >= MAX_PER_WINDOW:
        raise NotAllowed(f"You sent {len(recent)} requests in the last hour: your managers have them.")
    request = CreditRequest(
        account_id=account.id,
        requester_id=member.id,
        reason=reason,
        amount=amount,
        subject=subject,
        priority_id=priority_id,
    )
    db.session.add(request)
    db.session.flush()
    events.credit_requested.send(request=request, managers=managers, link=_link(request))
    return AskResult(request=request, managers=managers, sent=True)


def ask_for_draft(member, draft):
    """Ask for what the draft's priority lacks now: the bank's shortfall, or the excess over the
    member's monthly cap. Raises ValidationFailed when nothing is lacking."""
    quote = quotes.quote_for(member, draft.priority_id, category_id=draft.category_id)
    if quote is None:
        raise ValidationFailed("Choose one of the priorities of your plan first.")
    if quote.shortfall:
        reason, amount = REQUEST_SHORT, quote.shortfall
    elif quote.over_cap:
        reason, amount = REQUEST_CAP, quote.over_cap
    else:
        raise ValidationFailed(f"{quote.priority.name} is covered now: submit your ticket.")
    return ask(member, reason=reason, amount=amount, subject=draft.subject, priority_id=quote.priority.id)


def request_for_manager(manager, request_id):
    """A request a manager of its bank may see, else None."""
    request = db.session.get(CreditRequest, request_id) if is_row_id(request_id) else None
    if request is None or not policy.can_manage_members(manager, request.account):
        return None
    return request
