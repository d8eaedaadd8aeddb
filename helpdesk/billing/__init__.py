"""Billing: credit packs for sale, payments by card through Stripe (or the offline demo provider),
the webhook, phone orders and the revenue report. Only `billing.gateway` imports `stripe`.
"""

from helpdesk.web import register_admin_section, register_banner, register_nav


def init_app(app):
    from helpdesk.billing import admin, portal, portal_subscriptions  # noqa: F401  (views attach to blueprints)
    from helpdesk.billing.blueprints import admin_bp, bp
    from helpdesk.billing.cli import billing_cli
    from helpdesk.billing.nav import alert_banner, customer_nav

    app.register_blueprint(bp, url_prefix="/billing")
    app.register_blueprint(admin_bp, url_prefix="/admin/billing")
    register_nav(app, customer_nav, order=40)
    register_banner(app, alert_banner)
    app.cli.add_command(billing_cli)
    register_admin_section(
        app,
        "Billing",
        "billing_admin.payments",
        "Card payments, credit packs, phone orders, the revenue report, billing alerts.",
        order=60,
        blueprint="billing_admin",
    )
