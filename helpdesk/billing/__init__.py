"""Billing: credit packs for sale, payments by card through Stripe (or the offline demo provider),
the webhook, phone orders and the revenue report. Only `billing.gateway` imports `stripe`.
"""

from helpdesk import events, policy
from helpdesk.extensions import db
from helpdesk.web import register_admin_section, register_banner, register_layout_count, register_nav


def init_app(app):
    from helpdesk.billing import (  # noqa: F401  (views)
        admin,
        erasure,
        portal,
        portal_subscriptions,
        portal_topups,
        subscriptions,
        topups,
    )
    from helpdesk.billing.blueprints import admin_bp, bp
    from helpdesk.billing.cli import billing_cli
    from helpdesk.billing.nav import alert_banner, customer_nav
    from helpdesk.billing.purchases import open_alert_count_query

    app.register_blueprint(bp, url_prefix="/billing")
    app.register_blueprint(admin_bp, url_prefix="/admin/billing")
    register_nav(app, customer_nav, order=40)
    register_banner(app, alert_banner)
    register_layout_count(
        app, "billing_alerts", policy.can_manage_billing, lambda: open_alert_count_query().scalar_subquery()
    )
    app.cli.add_command(billing_cli)
    events.balance_changed.connect(topups.on_balance_changed)
    events.customer_joining.connect(subscriptions.joining_warning)
    events.personal_data_erased.connect(erasure.erase)
    app.after_request(charge_committed_top_ups)
    register_admin_section(
        app,
        "Billing",
        "billing_admin.payments",
        "Card payments, credit packs, phone orders, the revenue report, billing alerts.",
        order=60,
        blueprint="billing_admin",
    )


def charge_committed_top_ups(response):
    """After a request, charge the automatic top-ups its committed transactions recorded (outside
    every lock; `flask billing sweep` retries what this misses)."""
    if db.session.registry.has():  # a request that never opened a session recorded none
        from helpdesk.billing import topup_runner

        topup_runner.run_committed()
    return response
