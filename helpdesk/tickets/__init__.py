"""Tickets: categories, priorities, tickets and messages, uploads, search, the queue, subscribers
and history. The portal's ticket pages, the agent console and the category admin live here.
"""

from helpdesk.web import register_admin_section, register_nav, register_sidebar, register_top_link


def init_app(app):
    from helpdesk import events
    from helpdesk.tickets import (  # noqa: F401  (their views attach to the blueprints)
        admin,
        admin_hours,
        agent_bulk,
        agent_live,
        agent_new,
        agent_queue,
        agent_saved_views,
        agent_subscribers,
        agent_ticket,
        agent_views,
        attachments,
        editing,
        erasure,
        portal,
        portal_following,
        subscribers,
    )
    from helpdesk.tickets.blueprints import admin_bp, agent_bp, files_bp, portal_bp
    from helpdesk.tickets.cli import tickets_cli, uploads_cli
    from helpdesk.tickets.nav import agent_sidebar, at_risk_link, portal_nav

    events.agent_access_reduced.connect(editing.release_unworkable)
    events.agent_access_granted.connect(subscribers.end_subscriptions)
    events.personal_data_erased.connect(erasure.erase)
    app.cli.add_command(uploads_cli)
    app.cli.add_command(tickets_cli)
    app.register_blueprint(files_bp)
    app.register_blueprint(portal_bp, url_prefix="/portal")
    app.register_blueprint(agent_bp, url_prefix="/agent")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    register_nav(app, portal_nav, order=10)
    register_sidebar(app, agent_sidebar, order=10)
    register_top_link(app, at_risk_link, order=10)
    register_admin_section(
        app,
        "Categories",
        "tickets_admin.categories",
        "Ticket categories: add, rename, archive.",
        order=30,
        endpoints=("tickets_admin.categories",),
    )
    register_admin_section(
        app,
        "Business hours",
        "tickets_admin.business_hours",
        "When the desk is open: the default calendar, each category's own, holidays and closed dates.",
        order=32,
        endpoints=("tickets_admin.business_hours",),
    )
