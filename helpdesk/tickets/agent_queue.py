"""The queue page: the tickets this agent may see, filtered and sorted from the URL."""

from urllib.parse import urlencode

from flask import current_app, request, url_for
from flask_login import current_user

from helpdesk.conditional import conditional_page
from helpdesk.credits import quotes as credit_quotes
from helpdesk.dbtypes import utcnow
from helpdesk.htmx import is_htmx, render_page_or_block
from helpdesk.tickets import queue, queue_choices, search
from helpdesk.tickets.blueprints import agent_bp as bp
from helpdesk.tickets.forms import QUEUE_STATUS_CHOICES, SORT_CHOICES, STATUS_CHOICES, QueueArgs
from helpdesk.web import fixed_url, page_layout


def queue_context(args, notice=None):
    """What the queue page shows, as plain values (its ETag fingerprints them)."""
    choices = queue_choices.filter_choices(current_user)
    if args.category is not None and args.category not in {c.id for c in choices["categories"]}:
        # A category the agent may not see (an old link, a hand-made URL): its filter would show
        # "Any" over an empty list; every category they may see is shown instead, and said so.
        args.category = None
        notice = notice or {
            "level": "info",
            "text": "That category is not one of yours: showing all of yours.",
        }
    page = queue.queue_page(
        current_user,
        args.criteria(),
        current_app.config["PER_PAGE"],
        now=utcnow(),
        spent=credit_quotes.credits_spent_on,
    )
    hint = search.wordless_query_hint(args.q)
    if notice is None and hint:
        notice = {"level": "info", "text": hint}
    return dict(
        page=page,
        args=args,
        choices=choices,
        assign_choices=queue_choices.assign_choices(choices["agents"], {r.category_id for r in page.rows}),
        sort_headers=sort_headers(args),
        status_choices=QUEUE_STATUS_CHOICES,
        edit_status_choices=STATUS_CHOICES,
        sort_choices=SORT_CHOICES,
        notice=notice,
        save_view=None,
    )


# The sortable column headers: (the column's natural sort, its reverse, the natural direction).
SORT_COLUMNS = {
    "priority": ("priority", "priority_asc", "descending"),  # most urgent first
    "due": ("due", "due_desc", "ascending"),  # earliest reply-by first
    "updated": ("updated", "updated_asc", "descending"),  # latest first
}
OPPOSITE = {"ascending": "descending", "descending": "ascending"}


def sort_headers(args):
    """{column: {url, aria_sort, next}}: each sortable header's link (the other filters kept,
    paging left out), its aria-sort when the queue is sorted by it, and what a click sorts by."""
    headers, queue_url = {}, fixed_url("tickets_agent.queue")
    for column, (natural, flipped, direction) in SORT_COLUMNS.items():
        if args.sort == natural:
            aria, following = direction, flipped
        elif args.sort == flipped:
            aria, following = OPPOSITE[direction], natural
        else:
            aria, following = None, natural
        url = f"{queue_url}?{urlencode(args.as_args(sort=following))}"
        headers[column] = {"url": url, "aria_sort": aria, "next": dict(SORT_CHOICES)[following]}
    return headers


def render_queue(args, notice=None, status=200, context=None):
    """The queue page, or only its table for htmx requests."""
    context = context or queue_context(args, notice)
    return render_page_or_block("tickets/agent/queue.html", "queue_table", status=status, **context)


@bp.get("/", endpoint="queue")
def queue_view():
    args = QueueArgs(request.args)
    context = queue_context(args)
    shown = {**context, "args": vars(args)}
    response = conditional_page(lambda: render_queue(args, context=context), page_layout(), shown)
    if is_htmx():  # the address bar gets the tidy URL (defaults and empty filters left out)
        response.headers["HX-Push-Url"] = url_for(
            "tickets_agent.queue", **args.as_args(after=args.after or None, before=args.before or None)
        )
    return response
