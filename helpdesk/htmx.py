"""The one place for htmx plumbing: page-or-fragment rendering and response headers."""

import json

from flask import make_response, render_template, request
from jinja2_fragments.flask import render_block, render_blocks


def is_htmx():
    """True for requests made by htmx (history restores want the full page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def refused_status():
    """The status of a refused form shown again: 422 for a browser (as every refused form in the
    app), 200 for htmx, which swaps only 2xx answers (the fragment carries the messages)."""
    return 200 if is_htmx() else 422


def render_page_or_block(template, block, status=200, **context):
    """The full page for normal requests; only `block` (or blocks) of it for htmx requests."""
    if is_htmx():
        if isinstance(block, (list, tuple)):
            body = render_blocks(template, list(block), **context)
        else:
            body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def render_fragment(template, status=200, **context):
    """A template that is only ever a fragment (a table row, a quote line), marked Vary: HX-Request."""
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def hx_trigger(response, event, detail=None):
    """Ask htmx to fire a client event after the swap (e.g. to show a confirmation)."""
    existing = response.headers.get("HX-Trigger")
    events = json.loads(existing) if existing else {}
    events[event] = detail if detail is not None else True
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def hx_redirect_or(response_for_browser, location):
    """For htmx, a client-side redirect header; otherwise the given redirect response."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
        return response
    return response_for_browser


def set_reswap(response, swap):
    """HX-Reswap set directly (htmx-flask 0.1.0 rejects valid values such as `afterbegin`)."""
    response.headers["HX-Reswap"] = swap
    return response
