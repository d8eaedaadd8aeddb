"""Agents' availability for round-robin assignment: opted in (take new tickets of the round-robin
categories one is granted) and away (take none meanwhile). Each agent sets their own."""

from sqlalchemy import bindparam, func, select

from helpdesk.accounts.models import AgentAvailability
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed
from helpdesk.extensions import db


def availability(user):
    """The agent's switches (a transient row with the defaults when they never set them)."""
    row = db.session.get(AgentAvailability, user.id)
    return row if row is not None else AgentAvailability(user_id=user.id, round_robin=False, away=False)


def set_availability(user, *, round_robin, away):
    """Save the agent's own switches. Guarantees: only agents have them; one row per agent."""
    if not user.is_agent:
        raise NotAllowed("Only agents take part in round-robin assignment.")
    row = db.session.get(AgentAvailability, user.id)
    if row is None:
        row = AgentAvailability(user_id=user.id)
        db.session.add(row)
    row.round_robin, row.away, row.updated_at = bool(round_robin), bool(away), utcnow()
    db.session.flush()
    return row


def away_count_query():
    """1 when the user in the bind parameter `away_user_id` is marked away, else 0 (a layout count)."""
    return select(func.count()).where(
        AgentAvailability.user_id == bindparam("away_user_id"), AgentAvailability.away.is_(True)
    )
