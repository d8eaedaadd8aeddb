"""Bulk actions on queue rows: assign, change status, move category, each checked per ticket."""

from dataclasses import dataclass, field

from sqlalchemy import select

from helpdesk import policy
from helpdesk.accounts.models import User
from helpdesk.errors import DomainError, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import editing as agent_tickets
from helpdesk.tickets.models import Ticket

MAX_BULK = 100
ACTIONS = ("assign", "status", "category")
CHOOSE_AGENT = agent_tickets.CHOOSE_AGENT


@dataclass
class BulkResult:
    changed: list = field(default_factory=list)  # ticket ids
    unchanged: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (ticket id, reason)

    def summary(self):
        parts = [f"{len(self.changed)} ticket{'s' if len(self.changed) != 1 else ''} updated"]
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already set")
        if self.refused:
            parts.append(f"{len(self.refused)} not changed")
        return ", ".join(parts) + "."

    def reasons(self, max_chars=None):
        """Why the refused tickets were not changed, one line per reason ("#31, #40: not found"):
        the tickets refused alike together, in the order of the selection. With `max_chars`, the
        lines that fit in that many characters, then a last one counting the tickets left out."""
        grouped = {}
        for ticket_id, reason in self.refused:
            grouped.setdefault(reason, []).append(ticket_id)
        lines, size, shown = [], 0, 0
        for reason, ids in grouped.items():
            line = f"{', '.join(f'#{i}' for i in ids)}: {reason}"
            size += len(line)
            if max_chars is not None and size > max_chars and lines:
                left = len(self.refused) - shown
                lines.append(
                    f"{left} more ticket{'s' if left != 1 else ''} not changed: open them to see why."
                )
                break
            lines.append(line)
            shown += len(ids)
        return lines


def bulk_update(actor, selection, action, value):
    """Apply one action to the selected tickets, each through the same rules as a single edit.

    `selection` is a list of (ticket id, version seen). Guarantees: a ticket the actor may not
    see is refused as "not found"; each ticket is checked by the policy (category use, assignee
    permitted for that ticket's category) and by its version (changed since the page was loaded:
    refused); one refusal does not stop the others. Except: assigning an agent who may not work
    some selected ticket's category changes nothing and names those tickets (NotAllowed).
    """
    if action not in ACTIONS:
        raise DomainError("Choose an action.")
    selection = selection[:MAX_BULK]
    ids = [ticket_id for ticket_id, _version in selection]
    visible = {
        t.id: t
        for t in db.session.scalars(
            select(Ticket).where(Ticket.id.in_(ids), policy.ticket_visibility(actor))
        ).unique()
    }
    if action == "assign" and value is not None:
        _check_assignable(value, [visible[i] for i in ids if i in visible])
    apply = {
        "assign": agent_tickets.change_assignee,
        "status": agent_tickets.change_status,
        "category": agent_tickets.change_category,
    }[action]
    result = BulkResult()
    for ticket_id, version in selection:
        ticket = visible.get(ticket_id)
        if ticket is None:
            result.refused.append((ticket_id, "not found"))
            continue
        try:
            changed = apply(ticket, actor, value, version)
        except DomainError as exc:
            result.refused.append((ticket_id, str(exc)))
            continue
        (result.changed if changed else result.unchanged).append(ticket_id)
    return result


def _check_assignable(assignee_id, tickets):
    """Refuse the whole assignment when the agent may not work one of `tickets`' categories. Only
    an active agent (one the bar lists) is named: anyone else (a customer, a deactivated account,
    an id that is nobody's) gets the same refusal, so a hand-made POST learns no one's name."""
    assignee = db.session.get(User, assignee_id)
    if not agent_tickets.listed_agent(assignee):
        raise ValidationFailed(CHOOSE_AGENT)
    refused = [t for t in tickets if not policy.can_be_assigned(assignee, t)]
    if not refused:
        return
    categories = sorted({t.category.name for t in refused})
    numbers = ", ".join(f"#{t.id}" for t in sorted(refused, key=lambda t: t.id))
    raise NotAllowed(
        f"{assignee.name} cannot work tickets in {' or '.join(categories)} ({numbers}). "
        "No ticket was changed: choose someone allowed in every selected ticket's category, "
        "or leave those tickets out."
    )
