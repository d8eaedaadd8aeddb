"""The billing blueprint object, its navigation entries, admin banner and money filter."""

from flask import Blueprint, url_for

from .. import policy
from ..services.money import format_money
from ..web import register_banner, register_nav

bp = Blueprint("billing", __name__)


def _nav(user):
    if policy.can_manage_billing(user):
        return [("Billing admin", "billing.admin_payments")]
    if user.is_customer:
        return [("Buy credits", "billing.index")]
    return []


def _alert_banner(user):
    if not policy.can_manage_billing(user):
        return []
    from ..services import billing

    count = billing.open_alert_count()
    if not count:
        return []
    return [
        {
            "level": "warning",
            "text": f"{count} billing alert{'s' if count != 1 else ''} need attention.",
            "link": url_for("billing.admin_alerts"),
            "link_text": "Review",
        }
    ]


@bp.record_once
def _register(state):
    state.app.add_template_filter(format_money, "money")
    register_nav(state.app, _nav, order=40)
    register_banner(state.app, _alert_banner)
