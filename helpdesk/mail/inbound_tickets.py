"""New tickets from mail: the requester, the ticket in the default category and priority, and the
Cc'd people who follow it; the follow-up a reply to a closed ticket opens; plus the attachment and
body helpers replies share."""

import re

from flask import current_app
from sqlalchemy import select

from helpdesk.accounts import auth as accounts
from helpdesk.accounts import password_reset
from helpdesk.credits import ledger, quotes, submission
from helpdesk.errors import UploadRejected
from helpdesk.extensions import db
from helpdesk.mail import notify
from helpdesk.mail.compose import is_own_address
from helpdesk.mail.models import INBOUND_REFUSED, INBOUND_REJECTED
from helpdesk.mail.parse import trim_quoted
from helpdesk.mail.refusal import Refusal
from helpdesk.tickets import follow_ups, uploads
from helpdesk.tickets.models import Category, Subscription

USABLE_ADDRESS = re.compile(r"^[^@\s,;<>()\[\]\\\"]{1,64}@[a-z0-9.-]{1,190}\.[a-z0-9-]{2,63}$")


def checked_files(mail):
    """Attachments that pass the upload checks, and the reasons the others were refused."""
    accepted, refused = [], []
    limit = current_app.config["MAX_ATTACHMENTS_PER_POST"]
    for name, data in mail.attachments:
        if len(accepted) >= limit:
            refused.append(f"{name}: more than {limit} attachments")
            continue
        try:
            uploads.check_upload(name, data)
        except UploadRejected as exc:
            refused.append(str(exc))
        else:
            accepted.append((name, data))
    return accepted, refused


MAX_TEXT = 50_000  # characters of a ticket's text or a reply, as on the web forms (tickets/forms.py)
FULL_TEXT_NAME = "full-message.txt"


def body_of(entry, mail, text, files, refused):
    """The text to post (with a note of the attachments that were not accepted), the files to post
    with it, and notes for the inbound log; Refusal-free.

    Guarantees: the text is at most MAX_TEXT characters, as the web forms allow. A longer text is
    cut, and the message says so; the full text goes with it as FULL_TEXT_NAME when the upload
    checks (size, number of files) allow, else the message says it could not be attached and the
    raw mail is kept in the inbound log (`entry.raw`), so nothing is lost."""
    body, files, notes = text.strip(), list(files), []
    cut_note = None
    if len(body) > MAX_TEXT:
        full = body.encode("utf-8")
        why_not = None
        if len(files) >= current_app.config["MAX_ATTACHMENTS_PER_POST"]:
            why_not = f"the message has {len(files)} attachments already, the most a message may have"
        else:
            try:
                uploads.check_upload(FULL_TEXT_NAME, full)
            except UploadRejected as exc:
                why_not = str(exc).rstrip(".")
        if why_not is None:
            files.append((FULL_TEXT_NAME, full))
            cut_note = (
                f"(This message was cut at {MAX_TEXT:,} characters; the full text, {len(body):,}"
                f" characters, is attached as {FULL_TEXT_NAME}.)"
            )
            notes.append(
                f"text cut at {MAX_TEXT:,} characters; the full text is attached as {FULL_TEXT_NAME}"
            )
        else:
            cut_note = (
                f"(This message was cut at {MAX_TEXT:,} characters; the full text, {len(body):,}"
                f" characters, could not be attached: {why_not}. The help desk keeps the original mail.)"
            )
            notes.append(
                f"text cut at {MAX_TEXT:,} characters; the full text could not be attached ({why_not}):"
                " the raw message is kept here"
            )
            entry.raw = mail.raw or None
    suffix = ""
    if cut_note:
        suffix += f"\n\n{cut_note}"
    if refused:
        listed = "\n".join(f"- {reason}" for reason in refused)
        suffix += f"\n\n(Attachments not accepted:\n{listed})"
    if suffix:
        keep = max(MAX_TEXT - len(suffix), 0)
        body = f"{body[:keep].rstrip()}{suffix}".strip()[:MAX_TEXT]
    return body or ("(attachments only)" if files else ""), files, notes


def default_category():
    """DEFAULT_CATEGORY by name if active, else the first active category by name."""
    name = current_app.config.get("DEFAULT_CATEGORY")
    active = select(Category).where(Category.archived.is_(False))
    if name:
        found = db.session.scalar(active.where(Category.name == name))
        if found is not None:
            return found
    return db.session.scalars(active.order_by(Category.name)).first()


def free_priority(user):
    """The priority a ticket opened by mail gets (a new one, or a follow-up): DEFAULT_PRIORITY when
    `user`'s plan offers it free, else the least urgent priority it offers free; None when it offers
    none (nothing is charged by mail: there is nobody to agree to a price)."""
    free = quotes.free_priorities(ledger.plan_for(user))
    named = [p for p in free if p.name == current_app.config["DEFAULT_PRIORITY"]]
    return (named or free or [None])[0]


def open_follow_up(entry, mail, closed, sender):
    """Open the follow-up of the closed ticket `closed` from `sender`'s answer to it and return it
    (tickets/follow_ups.py; `policy.can_follow_up` said the sender may).

    Guarantees: the requester's plan's free priority (Refusal if it has none), the closed ticket's
    category (the default one if that was archived since), the text without the quoted mail, the
    attachments that pass the upload checks (the others are named in the text and in
    `entry.reason`, which names both tickets); an empty answer opens nothing (Refusal, as an empty
    reply). The sender is acknowledged as a new ticket's requester is, when they are not it.
    """
    requester = closed.requester
    category = closed.category if not closed.category.archived else default_category()
    priority = free_priority(requester)
    if priority is None:
        raise Refusal(
            INBOUND_REFUSED,
            f"ticket #{closed.id} is closed, and the plan of {requester.email} offers no free priority"
            " for a follow-up (nothing is charged by mail)",
        )
    if category is None:
        raise Refusal(INBOUND_REFUSED, "no active category to open a follow-up ticket with")
    files, refused = checked_files(mail)
    body, files, cut = body_of(entry, mail, trim_quoted(mail.text), files, refused)
    if not body:
        raise Refusal(INBOUND_REFUSED, f"empty reply to closed ticket #{closed.id}: no follow-up opened")
    ticket = follow_ups.open_follow_up(
        closed, sender, body=body, category_id=category.id, priority_id=priority.id, files=files
    )
    if sender.id != requester.id:
        notify.acknowledgement(ticket, sender)
    entry.reason = "; ".join([f"follow-up ticket #{ticket.id} of closed #{closed.id}", *cut, *refused])
    return ticket


def open_ticket(entry, mail, *, verified):
    """Open a ticket for the sender (an account is made for a new address) and return it.

    Guarantees: a deactivated account opens nothing; the ticket gets the sender's plan's free
    priority (`free_priority`: DEFAULT_PRIORITY when that plan offers it free), never a paid one,
    since nobody agreed to a price by mail; a customer's Cc'd people follow the ticket (at most
    MAIL_CC_MAX of them, accounts made only when the sender is `verified`); what was left out is
    said in `entry.reason`.
    """
    user = accounts.ensure_user(mail.from_addr, mail.from_name[:200] or None)
    if not user.active:
        raise Refusal(INBOUND_REJECTED, "the sender's account is deactivated")
    category, priority = default_category(), free_priority(user)
    if category is None:
        raise Refusal(INBOUND_REFUSED, "no active category to open a ticket with")
    if priority is None:
        raise Refusal(
            INBOUND_REFUSED, "the sender's plan offers no free priority, and mail cannot agree to a price"
        )
    files, refused = checked_files(mail)
    body, files, cut = body_of(entry, mail, mail.text, files, refused)
    body = body or "(no text)"
    ticket, _created = submission.submit_ticket(
        user,
        subject=mail.subject[:200] or "(no subject)",
        body=body,
        category_id=category.id,
        priority_id=priority.id,
        files=files,
    )
    notes = [*cut, *refused]
    if current_app.config["MAIL_CC_SUBSCRIBE"] and user.is_customer:
        notes += subscribe_cc(ticket, user, mail.cc, verified=verified)
    if mail.cc_cut:
        notes.append("the Cc header was too long: only its first addresses were read")
    entry.reason = "; ".join(notes) or None
    return ticket


def subscribe_cc(ticket, requester, cc, *, verified):
    """Cc'd people of a customer's new-ticket mail follow the ticket; returns notes on who did not.

    Guarantees: at most MAIL_CC_MAX distinct addresses are considered (ours and the requester's
    aside); never agents or deactivated accounts; an address without an account gets one (and a
    set-password link) only when the sender is verified, so an unverified mail cannot make
    accounts; each follower's mail is automatic (MAIL_AUTO_PER_HOUR).
    """
    limit = max(current_app.config["MAIL_CC_MAX"], 0)
    candidates, seen = [], {requester.email}
    for name, addr in cc:
        if addr in seen or is_own_address(addr) or not USABLE_ADDRESS.match(addr):
            continue
        seen.add(addr)
        candidates.append((name, addr))
    notes = []
    if len(candidates) > limit:
        notes.append(f"{len(candidates) - limit} more Cc addresses not subscribed (MAIL_CC_MAX is {limit})")
        candidates = candidates[:limit]
    no_account = []
    for name, addr in candidates:
        follower = accounts.find_user_by_email(addr)
        if follower is None and not verified:
            no_account.append(addr)
            continue
        follower = follower or accounts.ensure_user(addr, name[:200] or None)
        if not follower.active or follower.is_agent:
            continue
        db.session.add(Subscription(ticket_id=ticket.id, user_id=follower.id, added_by_id=requester.id))
        db.session.flush()
        invite = password_reset.set_password_url(follower) if follower.password_hash is None else None
        notify.subscriber_added(ticket, follower, actor=requester, set_password_url=invite, automatic=True)
    if no_account:
        notes.append(f"no account made for Cc {', '.join(no_account)}: the sender is not verified")
    return notes
