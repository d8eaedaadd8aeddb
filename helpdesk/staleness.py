"""How a save from a stale form is refused, the same way on every admin and agent form: 409 for a
browser (200 for htmx, which swaps only 2xx answers), and one sentence naming who changed what and
when after the form was opened, that nothing was saved, and what to do next.

The forms find out that they are stale in one of the project's ways (a change log's latest id, a
row's version column, its last save's time); this module only words and answers the refusal.
"""

from helpdesk.htmx import is_htmx
from helpdesk.web import format_datetime, request_now, user_zone

CHECK_AND_SAVE = "Check the values below and save again."


def conflict_status():
    """The status of a form refused as stale: 409 for a browser, 200 for htmx (its fragment
    carries the message, and htmx 2 swaps no 4xx answer)."""
    return 200 if is_htmx() else 409


def when(moment):
    """'10:42' today, '2026-12-05 10:42' another day (in the viewer's time zone)."""
    zone = user_zone()
    same_day = moment.astimezone(zone).date() == request_now().astimezone(zone).date()
    return format_datetime(moment, "%H:%M" if same_day else "%Y-%m-%d %H:%M")


def refusal(subject, *, actors=(), at=None, what="", then=CHECK_AND_SAVE, opened="this form", plural=False):
    """'Urgent was changed by Ada Admin and Bob at 10:42 (price 300) after you opened this form;
    nothing was saved. Check the values below and save again.' `actors`: the names of who
    changed it, in order (empty: not known, and not said); `at`: the last change's time."""
    names = list(dict.fromkeys(actors))
    by = f" by {' and '.join(names)}" if names else ""
    at_text = f" at {when(at)}" if at is not None else ""
    detail = f" ({what})" if what else ""
    verb = "were" if plural else "was"
    return (
        f"{subject} {verb} changed{by}{at_text}{detail} after you opened {opened}; nothing was saved. {then}"
    )


def actor_name(change):
    """The name of who made a recorded change ('someone' when the account is gone)."""
    actor = getattr(change, "actor", None)
    return actor.name if actor is not None else "someone"


def time_version(moment):
    """The version a form carries of a row whose last save's time is `moment` (its updated_at):
    the time written out, "none" for no row yet. A save since gives another."""
    return moment.isoformat() if moment is not None else "none"


def seen_number(raw):
    """The version number a form carries back, or None (a form without one is not checked)."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def recorded(changes):
    """refusal's `actors` and `at` from recorded changes (rows with `actor` and `created_at`,
    oldest first)."""
    return {"actors": [actor_name(c) for c in changes], "at": changes[-1].created_at if changes else None}
