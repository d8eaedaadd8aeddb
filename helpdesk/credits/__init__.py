"""Credits: service plans, priority tariffs, banks and their append-only ledger, quotes and charges,
low-balance alerts, monthly allowances, the response-time guarantee and time entries.

The only domain that changes a balance (`credits.ledger.post_entry`, under a row lock).
"""

from helpdesk import events, policy
from helpdesk.web import register_admin_section, register_banner, register_layout_count, register_nav


def init_app(app):
    from helpdesk.credits import (  # noqa: F401  (views attach to blueprints)
        admin,
        agent,
        erasure,
        guarantee,
        ledger_guard,
        portal,
        portal_organization,
        portal_plans,
        time_entries,
    )
    from helpdesk.credits import ledger as credits_ledger
    from helpdesk.credits.alerts import open_alert_count_query
    from helpdesk.credits.blueprints import admin_bp, agent_bp, portal_bp
    from helpdesk.credits.cli import credits_cli

    app.register_blueprint(portal_bp, url_prefix="/portal")
    app.register_blueprint(agent_bp, url_prefix="/agent/credits")
    app.register_blueprint(admin_bp, url_prefix="/admin/credits")
    register_nav(app, portal.portal_nav, order=20)
    register_nav(app, portal_organization.organization_nav, order=22)
    register_banner(app, portal.low_balance_banner)
    register_layout_count(
        app,
        portal.BANK_LOW_STAGE,
        _is_customer,
        credits_ledger.low_stage_query,
        credits_ledger.low_stage_params,
    )
    register_banner(app, admin.alerts_banner)
    register_layout_count(
        app, "credit_alerts", policy.can_manage_credits, lambda: open_alert_count_query().scalar_subquery()
    )
    register_admin_section(
        app,
        "Plans and credits",
        "credits_admin.index",
        "Banks and their statements, grants, service plans, priority tariffs, credit alerts.",
        order=50,
        blueprint="credits_admin",
    )
    app.cli.add_command(credits_cli)
    events.message_posted.connect(guarantee.on_message_posted)
    events.ticket_status_changed.connect(guarantee.on_status_changed)
    events.priority_changing.connect(guarantee.on_priority_changing)
    events.ticket_merged.connect(guarantee.on_ticket_merged)
    events.agent_access_reduced.connect(time_entries.stop_lost_timers)
    events.customer_joining.connect(credits_ledger.joining_warning)
    events.personal_data_erased.connect(erasure.erase)


def _is_customer(user):
    return bool(user.is_customer)
