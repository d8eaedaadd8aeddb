"""The seat-limit banner on every agent page (a COUNT in the layout's one query per full page)."""

from flask import current_app

from helpdesk import policy
from helpdesk.accounts.seats import seat_usage
from helpdesk.web import layout_count


def seat_banner(user):
    """Agents over the limit see a warning; admins at 80% or more see a quieter notice. Customers: none."""
    if not policy.is_agent(user):
        return []
    usage = seat_usage(layout_count("seats_used"))  # full pages only, never fragments
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
