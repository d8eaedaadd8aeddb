"""Navigation entries of the tickets domain: the portal's lists and form for customers; for agents
the console's views (sidebar, tickets.views_builtin) and what is at risk (top bar)."""

from flask import request, url_for

from helpdesk.tickets import views_builtin
from helpdesk.web import fixed_url

QUEUE = "tickets_agent.queue"


def portal_nav(user):
    """Customers' pages; agents have the console instead ("Mine" is their "My tickets")."""
    if user.is_agent:
        return []
    return [("My tickets", "tickets_portal.tickets"), ("New ticket", "tickets_portal.new_ticket")]


def view_url(view):
    """A view's queue link: a built-in view's is the same on every page (fixed_url, built once);
    an agent's saved view goes through url_for."""
    if view.saved_id is None:
        return fixed_url(QUEUE, query=view.args)
    return url_for(QUEUE, **dict(view.args))


def agent_sidebar(user):
    """The views group of the console's sidebar: each view's queue link (the built-in ones, then
    the agent's saved ones), the one this queue page shows marked current; the counts load from
    `counts_url` (one aggregate query, off the page)."""
    views = views_builtin.views_for(user)
    current = views_builtin.current_view(views, request.args) if request.endpoint == QUEUE else None
    return [
        {
            "template": "tickets/agent/_sidebar_views.html",
            "label": "Views",
            "counts_url": fixed_url("tickets_agent.view_counts"),
            "manage_url": fixed_url("tickets_agent.saved_views"),
            "views": [
                {
                    "key": v.key,
                    "label": v.label,
                    "url": view_url(v),
                    "current": v.key == current,
                    "saved": v.saved_id is not None,
                }
                for v in views
            ],
        }
    ]


def at_risk_link(user):
    """The top bar's "At risk" view link; its count arrives with the views' counts."""
    view = next(v for v in views_builtin.BUILT_IN if v.key == views_builtin.AT_RISK)
    return [{"label": view.label, "url": view_url(view), "count_id": f"top-count-{view.key}"}]
