"""Signed addresses and ids in our mail: per-recipient reply addresses and per-ticket thread ids.

A reply address is `support+t<ticket>.<user>.<issued>.<signature>@domain`: user id and issue time
(seconds, base 36) signed with an HMAC of SECRET_KEY, all in lower case because some mail systems
fold the case of local parts. It says who the mail was sent to, so a reply through it identifies
the replier (together with the From address, which must be that recipient's) until
MAIL_REPLY_TOKEN_DAYS after it was issued. The old form `support+t<ticket>.<signature>@domain`,
shared by every recipient and never expiring, is still recognised, but only as naming a ticket:
it proves nothing about the sender (see inbound.py).
"""

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

from flask import current_app

from helpdesk.dbtypes import utcnow

_REPLY = re.compile(
    r"^(?P<local>[^@+\s]{1,64})\+t(?P<ticket>\d{1,12})\.(?P<rest>[0-9a-z.]{1,80})@(?P<domain>[^@\s]{1,255})$",
    re.IGNORECASE,
)
_LEGACY = re.compile(r"^(?P<sig>[0-9a-f]{1,64})$")
_PERSONAL = re.compile(r"^(?P<user>[0-9a-z]{1,12})\.(?P<issued>[0-9a-z]{1,8})\.(?P<sig>[0-9a-f]{1,64})$")
_ROOT = re.compile(r"^<ticket-(?P<id>\d{1,12})\.(?P<sig>[0-9a-f]{12})@(?P<domain>[^>\s]+)>$")
SIGNATURE_LENGTH = 20  # hex characters: 80 bits


def _addr_spec(setting):
    return parse_setting_address(current_app.config[setting] or "")


@functools.lru_cache(maxsize=64)
def parse_setting_address(value):
    """The address in a setting such as `Help desk <support@example.com>` (parsed once per value:
    every mail written asks for it several times)."""
    return parseaddr(value)[1].strip().lower()


def support_address():
    return _addr_spec("SUPPORT_ADDRESS")


def mail_domain():
    return support_address().rpartition("@")[2] or "localhost"


def sign(purpose, value, length=16):
    """A hex HMAC-SHA256 of `purpose:value` keyed by SECRET_KEY, cut to `length` characters."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:length]


def _base36(number):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


@dataclass(frozen=True)
class ReplyToken:
    """What a reply address of ours says: the ticket, and for a personal one whom it was sent to."""

    ticket_id: int
    valid: bool  # the signature is ours
    user_id: int | None = None  # None: an old-style address, shared by every recipient
    issued_at: datetime | None = None

    @property
    def personal(self):
        return self.user_id is not None

    def expires_at(self):
        return self.issued_at + timedelta(days=current_app.config["MAIL_REPLY_TOKEN_DAYS"])

    def expired(self, now):
        return self.personal and self.expires_at() < now


def reply_address(ticket_id, user_id, issued=None):
    """support+t<ticket>.<user>.<issued>.<hmac>@domain: a reply through it lands on the ticket and
    names its recipient; it stops proving anything MAIL_REPLY_TOKEN_DAYS after `issued` (now)."""
    local, _, domain = support_address().partition("@")
    stamp = int((issued or utcnow()).timestamp())
    body = f"{ticket_id}.{_base36(user_id)}.{_base36(stamp)}"
    return f"{local}+t{body}.{sign('reply-to', body, SIGNATURE_LENGTH)}@{domain}"


def legacy_reply_address(ticket_id):
    """The old shared form, support+t<id>.<hmac>@domain (still recognised; no longer sent)."""
    local, _, domain = support_address().partition("@")
    return f"{local}+t{ticket_id}.{sign('reply', ticket_id)}@{domain}"


def parse_reply_address(addr):
    """The ReplyToken of an address in one of our reply forms, else None. Signatures are
    compared in constant time; anything malformed is simply not a reply address."""
    match = _REPLY.match((addr or "").strip())
    if not match:
        return None
    local, _, domain = support_address().partition("@")
    if match["local"].lower() != local or match["domain"].lower() != domain:
        return None
    ticket_id, rest = int(match["ticket"]), match["rest"].lower()
    legacy = _LEGACY.match(rest)
    if legacy:
        return ReplyToken(ticket_id, hmac.compare_digest(legacy["sig"], sign("reply", ticket_id)))
    personal = _PERSONAL.match(rest)
    if not personal:
        return ReplyToken(ticket_id, False)
    body = f"{ticket_id}.{personal['user']}.{personal['issued']}"
    if not hmac.compare_digest(personal["sig"], sign("reply-to", body, SIGNATURE_LENGTH)):
        return ReplyToken(ticket_id, False)
    issued = datetime.fromtimestamp(int(personal["issued"], 36), UTC)
    return ReplyToken(ticket_id, True, int(personal["user"], 36), issued)


def thread_root_id(ticket_id):
    """The stable Message-ID every mail about this ticket refers to, so clients thread them."""
    return f"<ticket-{ticket_id}.{sign('thread', ticket_id, 12)}@{mail_domain()}>"


def ticket_from_root_id(msgid):
    """The ticket id of a genuine thread root id, else None."""
    match = _ROOT.match((msgid or "").strip())
    if not match:
        return None
    ticket_id = int(match["id"])
    return ticket_id if hmac.compare_digest(match["sig"], sign("thread", ticket_id, 12)) else None
