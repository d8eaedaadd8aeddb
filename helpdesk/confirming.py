"""Ask before destructive and money-moving actions ("Lower #33 to Normal? Alice gets 250 back.").

A view calls `ask_first(...)` before its service: a POST without the `confirmed_action` field gets,
instead of the action, a question saying exactly what will happen. Without JavaScript it is a
page whose form posts the same fields again with the marker (as the "Confirm it's you" page does,
so the two chain in either order); for htmx it is a <dialog> swapped into #confirm-host, which
app.js opens and, on "yes", sends the original form again with the marker. Nothing runs twice:
the first request only asks.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from helpdesk.htmx import is_htmx
from helpdesk.web import safe_next

MARKER = "confirmed_action"
OWN_FIELDS = frozenset({MARKER, "csrf_token"})


def confirmed():
    """Whether this POST carries the answer "yes" to the question."""
    return request.form.get(MARKER) == "yes"


@dataclass(frozen=True)
class Instead:
    """Another action the question offers beside "yes" ("Merge #7 into #3 instead"): a plain form
    posting `fields` to `url`, so it works alike in the dialog and on the page without JavaScript
    (its own question, if it has one, comes as a page). `method` "get": it only goes to `url`
    ("Open #43")."""

    label: str
    url: str
    fields: tuple = ()
    method: str = "post"


def ask_first(question, consequence, action, *, cancel_url=None, danger=True, warning=None, instead=None):
    """None when the request is confirmed (run the action); otherwise the response that asks.

    `question` is the heading ("Close #33?"), `consequence` says what follows ("Alice Archer gets
    250 credits back."), `action` labels the button ("Close ticket"); `warning`, a sentence shown
    apart, and `instead` (an Instead) offer to do something else."""
    if confirmed():
        return None
    context = dict(
        question=question,
        consequence=consequence,
        action=action,
        danger=danger,
        warning=warning,
        instead=instead,
    )
    if is_htmx():
        response = current_app.make_response(render_template("_partials/confirm_dialog.html", **context))
        response.headers["HX-Retarget"] = "#confirm-host"
        response.headers["HX-Reswap"] = "innerHTML"
        response.vary.add("HX-Request")
        return response
    fields = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in OWN_FIELDS and not name.startswith("reauth")  # never a password in a page
    ]
    return render_template(
        "core/confirm.html",
        fields=fields,
        target=request.full_path if request.query_string else request.path,
        cancel_url=cancel_url or _page_to_go_back_to(),
        **context,
    )


def _page_to_go_back_to():
    """Where Cancel leads when the view names no page: the page the form was on, when a browser
    can open it again, else the start page. Never an address that only answers POST (the
    referrer after a refused form re-rendered at its action, or after "Confirm it's you"),
    which would answer "405 Method not allowed"."""
    for candidate in (safe_next(_local_path(request.referrer)), request.path):
        if candidate and _opens_with_get(candidate):
            return candidate
    return url_for("core.index")


def _opens_with_get(path):
    """Whether a GET of this local path reaches a page (a route that answers GET)."""
    path = urlsplit(path).path
    root = request.script_root
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    try:
        current_app.url_map.bind(request.host).match(path, method="GET")
    except RequestRedirect:  # a slash added: the page exists
        return True
    except HTTPException:  # no such route, or one that answers POST only
        return False
    return True


def _local_path(url):
    """The path and query of a same-host referrer, else None."""
    if not url or not url.startswith(request.host_url):
        return None
    return "/" + url[len(request.host_url) :]
