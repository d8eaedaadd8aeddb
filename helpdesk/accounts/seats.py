"""Agent seats: the operator's limit (config, not in-app) against active technicians and admins."""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from helpdesk.accounts.models import ACTIVE_AGENT, AGENT_ROLES, User
from helpdesk.extensions import db


@dataclass(frozen=True)
class SeatUsage:
    used: int
    limit: int

    @property
    def over_limit(self):
        return self.used > self.limit

    @property
    def near_limit(self):
        """At 80% of the limit or above (but not over)."""
        return not self.over_limit and self.limit > 0 and self.used * 5 >= self.limit * 4

    @property
    def free(self):
        return max(self.limit - self.used, 0)


def seats_used_query():
    """Active technicians plus active admins; customers, subscribers and deactivated users never
    count (read from the partial index of active agents)."""
    return select(func.count()).select_from(User).where(ACTIVE_AGENT)


def seats_used():
    return db.session.scalar(seats_used_query())


def seat_usage(used=None):
    """Used seats (counted now unless given) against the configured AGENT_SEAT_LIMIT."""
    return SeatUsage(
        used=seats_used() if used is None else used, limit=int(current_app.config["AGENT_SEAT_LIMIT"])
    )


def would_exceed_after_promotion(user, new_role):
    """True when making `user` an agent (or reactivating one) takes the help desk over its limit."""
    usage = seat_usage()
    adds_seat = new_role in AGENT_ROLES and not (user.active and user.role in AGENT_ROLES)
    return adds_seat and usage.used + 1 > usage.limit
