"""Per-agent mail preferences: for each everyday kind of notice, whether a mail is also sent
(the in-app notice always is). An agent who never chose gets each kind's default (AGENT_KINDS)."""

from helpdesk.extensions import db
from helpdesk.notices.models import AGENT_KINDS, NoticePreference


def mail_wanted(user, kind):
    """Whether `user` gets a mail for a notice of `kind` (False for kinds outside AGENT_KINDS)."""
    if kind not in AGENT_KINDS:
        return False
    row = db.session.get(NoticePreference, (user.id, kind))
    return row.mail if row is not None else AGENT_KINDS[kind][1]


def mail_choices(user):
    """[(kind, label, mail wanted)] in the page's order."""
    return [(kind, label, mail_wanted(user, kind)) for kind, (label, _default) in AGENT_KINDS.items()]


def set_mail_choices(user, mailed_kinds):
    """Save the kinds `user` wants by mail (every other kind: in-app only). Unknown kinds are
    ignored. Returns the kinds whose choice changed."""
    changed = []
    for kind in AGENT_KINDS:
        wanted = kind in mailed_kinds
        if mail_wanted(user, kind) == wanted:
            continue
        row = db.session.get(NoticePreference, (user.id, kind))
        if row is None:
            db.session.add(NoticePreference(user_id=user.id, kind=kind, mail=wanted))
        else:
            row.mail = wanted
        changed.append(kind)
    db.session.flush()
    return changed
