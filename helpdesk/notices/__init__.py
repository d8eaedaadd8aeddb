"""In-app notices: a user's list of what needs their attention, with the unread count in the
navigation. Receives the domain events that call for one (a paid ticket at risk, a member's
request for credits to their organization's managers)."""

from helpdesk import events, policy
from helpdesk.notices import service
from helpdesk.web import register_nav


def notices_nav(user):
    """ "Notifications (n)" for agents and organization managers (members' requests for credits);
    the count is one indexed COUNT per full page."""
    if not (user.is_agent or policy.manages_organization(user)):
        return []
    count = service.unread_count(user)
    return [(f"Notifications ({count})" if count else "Notifications", "notices.index")]


def init_app(app):
    from helpdesk.notices import views

    app.register_blueprint(views.bp, url_prefix="/notices")
    register_nav(app, notices_nav, order=85)
    events.sla_at_risk.connect(service.on_sla_at_risk)
    events.credit_requested.connect(service.on_credit_requested)
