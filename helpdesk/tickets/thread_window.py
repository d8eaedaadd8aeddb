"""How much of a long conversation a ticket page shows: the original message and the latest
THREAD_RECENT_MESSAGES messages, the earlier ones behind a link ("Show the N earlier messages",
`?thread=all`). A ticket that collected hundreds of mails (a loop, a long project) opens as fast as
any other, and its latest word is where the reply box is.

The choice travels with the page: the page's forms (reply, internal note) and its live refresh send
`thread=all` back when everything is shown, so answering does not fold the conversation again."""

from flask import current_app, request, url_for

WHOLE = "all"


def whole_thread():
    """Whether this request asks for the whole conversation (`thread=all` in its URL or form)."""
    return request.values.get("thread") == WHOLE


def latest_shown():
    """How many of the latest messages the page shows: None for all of them (asked for, or a desk
    whose THREAD_RECENT_MESSAGES is 0: never folded)."""
    latest = current_app.config["THREAD_RECENT_MESSAGES"]
    if whole_thread() or latest <= 0:
        return None
    return latest


def thread_args():
    """The URL arguments that keep the whole conversation shown, for redirects back to the page."""
    return {"thread": WHOLE} if whole_thread() else {}


def conversation_url(endpoint, **values):
    """The ticket page's conversation (`endpoint` with `values`), whole if this request showed it whole."""
    return url_for(endpoint, **values, _anchor="conversation", **thread_args())
