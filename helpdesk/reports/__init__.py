"""Reports for agents and admins: volumes, response and resolution times, compliance and backlog."""

from helpdesk.web import register_nav


def init_app(app):
    from helpdesk.reports import agent, agent_knowledge  # noqa: F401  (its view attaches to agent.bp)

    app.register_blueprint(agent.bp, url_prefix="/agent/reports")
    register_nav(app, agent.reports_nav, order=70)
