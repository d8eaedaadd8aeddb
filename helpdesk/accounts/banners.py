"""The seat-limit banner on every agent page (one COUNT query per full page)."""

from flask import current_app

from helpdesk import policy
from helpdesk.accounts.seats import seat_usage


def seat_banner(user):
    """Agents over the limit see a warning; admins at 80% or more see a quieter notice. Customers: none."""
    if not policy.is_agent(user):
        return []
    usage = seat_usage()  # web.layout_context asks once per full page, never for fragments
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
