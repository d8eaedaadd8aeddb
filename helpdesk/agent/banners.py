"""The agent console's navigation entry and the seat-limit banner (one COUNT query per request)."""

from flask import current_app, request

from .. import policy
from ..htmx import is_htmx
from ..services.seats import seat_usage


def agent_nav(user):
    return [("Queue", "agent.queue")] if policy.can_use_agent_console(user) else []


def _usage_for_request():
    """Seat usage counted once per request, however many templates are rendered."""
    usage = getattr(request, "_helpdesk_seat_usage", None)
    if usage is None:
        usage = seat_usage()
        request._helpdesk_seat_usage = usage
    return usage


def seat_banner(user):
    """Agents over the limit see a warning; admins at 80% or more see a quieter notice. Customers: none."""
    if not policy.is_agent(user) or is_htmx():  # fragments never show the layout's banners
        return []
    usage = _usage_for_request()
    if usage.over_limit:
        return [
            {
                "level": "warning",
                "text": f"{usage.used} agents on a plan for {usage.limit} —",
                "link": current_app.config["UPGRADE_URL"],
                "link_text": "upgrade",
            }
        ]
    if usage.near_limit and policy.is_admin(user):
        return [{"level": "info", "text": f"{usage.used} of {usage.limit} agent seats used", "link": None}]
    return []
