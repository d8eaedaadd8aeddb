"""The billing domain's navigation entry and the admins' billing-alert banner."""

from flask import url_for

from helpdesk import policy
from helpdesk.web import layout_count


def customer_nav(user):
    return [("Buy credits", "billing.index")] if user.is_customer else []


def alert_banner(user):
    if not policy.can_manage_billing(user):
        return []
    count = layout_count("billing_alerts")
    if not count:
        return []
    return [
        {
            "level": "warning",
            "text": f"{count} billing alert{'s' if count != 1 else ''} need attention.",
            "link": url_for("billing_admin.alerts"),
            "link_text": "Review",
        }
    ]
