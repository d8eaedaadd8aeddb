"""The counts of the agent's views (the sidebar loads them after the page): one aggregate query."""

from flask_login import current_user

from helpdesk.conditional import conditional_page
from helpdesk.htmx import render_page_or_block
from helpdesk.tickets import views_builtin
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.nav import view_url
from helpdesk.web import page_layout


@bp.get("/views", endpoint="view_counts")
def view_counts():
    """Each view with its count: a page of its own, or for htmx only the counts, swapped out of
    band into the sidebar and the top bar. Repeats answer 304 while the counts are the same."""
    views = views_builtin.views_for(current_user)
    capped = set()  # views counted on their own past the cap: "1,000+"
    counts = views_builtin.view_counts(current_user, views, capped=capped)
    cap = views_builtin.COUNT_CAP
    shown = [
        {
            "key": v.key,
            "label": v.label,
            "url": view_url(v),
            "count": cap if v.key in capped else counts[v.key],
            "more": v.key in capped,
        }
        for v in views
    ]
    top = [v for v in shown if v["key"] == views_builtin.AT_RISK]

    def render():
        return render_page_or_block("tickets/agent/views.html", "counts", views=shown, top=top)

    return conditional_page(render, page_layout(), shown)
