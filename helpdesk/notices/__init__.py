"""In-app notices: a user's list of what needs their attention, with the unread count in the
navigation. Receives the domain events that call for one (a paid ticket at risk, a member's
request for credits to their organization's managers)."""

from helpdesk import events, policy
from helpdesk.accounts import availability
from helpdesk.notices import mentions, service, work
from helpdesk.web import fixed_url, layout_count, register_layout_count, register_nav, register_top_link


def has_notices(user):
    """Agents and organization managers (members' requests for credits) get notices."""
    return user.is_agent or policy.manages_organization(user)


def _label():
    count = layout_count("unread_notices")
    return f"Notifications ({count})" if count else "Notifications"


def notices_nav(user):
    """ "Notifications (n)" for organization managers; the count is an indexed COUNT in the
    layout's one query per full page."""
    if user.is_agent or not has_notices(user):
        return []
    return [(_label(), "notices.index")]


def notices_top_link(user):
    """The same in the agent console's top bar."""
    return [{"label": _label(), "url": fixed_url("notices.index")}]


def away_top_link(user):
    """ "You are away" in the top bar while an agent is marked away (round-robin skips them)."""
    if not layout_count("agent_away"):
        return []
    return [{"label": "You are away", "url": fixed_url("notices_account.settings")}]


def init_app(app):
    from helpdesk.notices import erasure, views

    app.register_blueprint(views.bp, url_prefix="/notices")
    app.register_blueprint(views.account_bp, url_prefix="/account")
    register_nav(app, notices_nav, order=85)
    register_top_link(app, notices_top_link, order=5)
    register_layout_count(
        app,
        "unread_notices",
        has_notices,
        lambda: service.unread_count_query().scalar_subquery(),
        lambda user: {"notices_user_id": user.id},
    )
    events.sla_at_risk.connect(service.on_sla_at_risk)
    events.credit_requested.connect(service.on_credit_requested)
    # Agents' everyday notices (issue 16 item 7), mail preferences and availability.
    events.ticket_assigned.connect(work.on_ticket_assigned)
    events.message_posted.connect(work.on_message_posted)
    events.ticket_merged.connect(work.on_ticket_merged)  # a mention's note moved: its link follows
    events.personal_data_erased.connect(erasure.erase)
    # Notices about a ticket its user may no longer see go (service.on_agent_access_reduced).
    events.agent_access_reduced.connect(service.on_agent_access_reduced)
    events.ticket_changed.connect(service.on_ticket_changed)
    app.add_template_filter(mentions.render_note, "note_text")
    register_top_link(app, away_top_link, order=6)
    register_layout_count(
        app,
        "agent_away",
        lambda user: user.is_agent,
        lambda: availability.away_count_query().scalar_subquery(),
        lambda user: {"away_user_id": user.id},
    )
