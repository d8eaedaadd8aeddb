"""Notifications: one function per event, each writing outbox rows in the caller's transaction.

Every function only flushes; the view or command that caused the event commits, so a
notification exists exactly when its event does. Inactive users and the author of the
event are never mailed.
"""

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from helpdesk import policy
from helpdesk.accounts import confirmation, permissions
from helpdesk.accounts import password_reset as reset_links
from helpdesk.accounts.models import User
from helpdesk.extensions import db
from helpdesk.mail.compose import answering, compose, queue, queue_request
from helpdesk.money import format_money
from helpdesk.notices import preferences
from helpdesk.notices.models import KIND_CUSTOMER_REPLIED
from helpdesk.querying import lock_name, transaction_info
from helpdesk.tickets.models import Ticket
from helpdesk.web import public_url


def _ticket_subject(ticket, prefix=""):
    return f"{prefix}[#{ticket.id}] {ticket.subject}"


def _recipients(users, exclude=()):
    """Distinct active users with a confirmed address, in the given order, minus `exclude`."""
    skip = {u.id for u in exclude if u is not None}
    seen, result = set(), []
    for user in users:
        if user is None or user.id in skip or user.id in seen or not user.active or not user.email:
            continue
        if user.email_confirmed_at is None:  # self-registered, address not confirmed yet
            continue
        seen.add(user.id)
        result.append(user)
    return result


def ticket_url(ticket, user):
    """The agent console's ticket page for agents, the portal's for everyone else."""
    endpoint = "tickets_agent.ticket" if user.is_agent else "tickets_portal.ticket"
    return public_url(endpoint, ticket_id=ticket.id)


def _send(kind, user, template, subject, ticket=None, automatic=False, **context):
    """Queue one mail to `user`; `automatic` ones (sent because mail came in) are rate-limited."""
    if ticket is not None and "url" not in context:
        context["url"] = ticket_url(ticket, user)
    return queue(
        kind,
        to_addr=user.email,
        to_name=user.name,
        user_id=user.id,
        template=template,
        subject=subject,
        ticket=ticket,
        automatic=automatic,
        recipient=user,
        **context,
    )


def category_agents(ticket):
    """Active agents granted the ticket's category (admins only if granted it explicitly)."""
    return permissions.category_agents(ticket.category_id)


def _followers(ticket):
    """The requester and subscribers who may still see the ticket (policy.can_view_ticket): a
    requester made a technician without its category, say, no longer gets its replies."""
    people = [ticket.requester] + [s.user for s in ticket.subscriptions]
    return [user for user in people if user is not None and policy.can_view_ticket(user, ticket)]


# The mails someone gets because they may see the ticket (a follower, an agent of its category):
# checked again when the worker sends them (withheld), since a retry may come hours later.
FOR_VIEWERS = ("ticket_created", "public_reply", "subscriber_added", "ticket_resolved", "sla_at_risk")


def withheld(row):
    """Why a queued mail must not go out now, or None: its recipient was deactivated, or may no
    longer see its ticket (a subscriber removed, an agent who lost the category, ...) since it
    was written. Mail waits for the worker, and for hours when the SMTP server refuses it: the
    mail of a reply went to a subscriber removed meanwhile. Only the kinds sent for seeing a
    ticket (FOR_VIEWERS and agents' notices): a password reset, a refund, ... keep their own rules."""
    if row.user_id is None or row.ticket_id is None:
        return None
    if row.kind not in FOR_VIEWERS and not row.kind.startswith("notice_"):
        return None
    user = db.session.get(User, row.user_id)
    if user is None:
        return None
    if not user.active:
        return f"{user.name} is deactivated"
    if not policy.can_view_ticket(user, db.session.get(Ticket, row.ticket_id)):
        return f"{user.name} may no longer see ticket #{row.ticket_id}"
    return None


def ticket_created(ticket):
    """An acknowledgement to the requester (subject and number only, never the body: whoever
    mails the support address cannot make it echo content to someone else; automatic for a ticket
    opened by mail, so at most MAIL_AUTO_PER_HOUR an hour), and the full ticket to its agents."""
    agents = _recipients(category_agents(ticket), exclude=[ticket.requester])  # before any row is added:
    rows = acknowledgement(ticket, ticket.requester)  # the rows are then inserted together
    for agent in agents:
        rows.append(
            _send(
                "ticket_created",
                agent,
                "ticket_new_agent",
                _ticket_subject(ticket, "New: "),
                ticket,
            )
        )
    return rows


def acknowledgement(ticket, user):
    """The new ticket's acknowledgement to `user` (its requester, or whoever else opened it by
    mail: a subscriber's follow-up of a closed ticket), as ticket_created sends it."""
    return [
        _send(
            "ticket_created",
            u,
            "ticket_ack",
            _ticket_subject(ticket),
            ticket,
            automatic=answering(),
            set_password_url=public_url("accounts.forgot_password"),
            priority=ticket.priority.name,
            reply_by=_local_time(ticket.due_at, u),  # the promise, in the reader's time zone
        )
        for u in _recipients([user])
    ]


def public_reply(message):
    """A public reply to the requester and subscribers; a reply by a non-agent also goes to the
    assignee (unless they turned that mail off), or to the category's agents when nobody is assigned. Never to its author; internal
    notes send nothing."""
    if message.internal:
        return []
    ticket = message.ticket
    author = message.author
    users = _followers(ticket)
    if author is None or not author.is_agent:
        if ticket.assignee is None:
            users += list(category_agents(ticket))
        elif preferences.mail_wanted(ticket.assignee, KIND_CUSTOMER_REPLIED):  # their choice
            users.append(ticket.assignee)
    rows = [
        _send(
            "public_reply",
            user,
            "public_reply",
            _ticket_subject(ticket, "Re: "),
            ticket,
            message=message,
        )
        for user in _recipients(users, exclude=[author])
    ]
    if author is not None and author.is_agent:  # a "Reply and resolve" tells the news in this mail
        replies = transaction_info().setdefault(_REPLY_MAILS, {})
        replies[ticket.id] = {row.user_id: row for row in rows}
    return rows


_REPLY_MAILS = "reply_mails"  # transaction_info(): ticket id -> {user id: its agent reply's mail}


def subscriber_added(ticket, user, actor=None, set_password_url=None, automatic=False):
    """Tell a new subscriber they follow the ticket (subject and number, and how to reply).

    A recipient without a password also gets `set_password_url` (a signed link to choose one; it
    expires) and the page where a new link can be asked for. `automatic` when no person added
    them (a Cc of a mail): then at most MAIL_AUTO_PER_HOUR an hour.
    """
    return [
        _send(
            "subscriber_added",
            u,
            "subscriber_added",
            _ticket_subject(ticket),
            ticket,
            automatic=automatic,
            actor=actor,
            **_first_login(u, set_password_url),
        )
        for u in _recipients([user], exclude=[actor])
    ]


def _first_login(user, set_password_url=None):
    """Links for an account that has no password yet (nothing for one that has)."""
    if user.password_hash:
        return {}
    return {
        "set_password_url": set_password_url,
        "forgot_password_url": public_url("accounts.forgot_password"),
        "link_hours": reset_links.link_hours(),
    }


def ticket_resolved(ticket, actor=None):
    """Tell the requester and subscribers the ticket was resolved (not the agent who did it).

    A follower who got an agent's reply to it in the same transaction ("Reply and resolve") gets
    no second mail: that reply's mail says the ticket is resolved and how to open it again."""
    replied = transaction_info().get(_REPLY_MAILS, {}).get(ticket.id, {})
    rows = []
    for user in _recipients(_followers(ticket), exclude=[actor]):
        reply = replied.get(user.id)
        if reply is not None:
            reply.context = {**reply.context, "resolved": True}
            if reply.body_text is not None:  # composed when written (devbox): again, with the news
                reply.body_text = None
                compose(reply)
            continue
        rows.append(
            _send("ticket_resolved", user, "ticket_resolved", _ticket_subject(ticket, "Resolved: "), ticket)
        )
    return rows


def password_reset(user, reset_url):
    """The password reset link, to the account's own address only (even if it is inactive: the
    caller decides)."""
    return _send(
        "password_reset", user, "password_reset", "Reset your help desk password", reset_url=reset_url
    )


# Mail someone asks for by typing an address (a reset link, a new confirmation link): whether it goes out depends on
# whether an account has the address, and deciding that in the request (finding the account,
# making the link, counting its mails, writing the mail) made the answer for an existing account
# about 1.5x slower than for an unknown one, which told who has an account (bench/README.md,
# "Account pages"). The request stores only the address (compose.queue_request): the same
# statements for any address. The worker's claim resolves it (resolve_request) into the mail,
# or into nothing, and deletes it. With MAIL_BACKEND=devbox (no worker, nothing sent) the request
# resolves it at once.
RESET_REQUEST = "reset_request"
CONFIRMATION_REQUEST = "confirmation_request"
REQUEST_SUBJECTS = {
    RESET_REQUEST: "(A reset link asked for: sent if an active account has this address)",
    CONFIRMATION_REQUEST: "(A new confirmation link asked for: sent if an account awaits one here)",
}


def _resolvers():
    return {
        RESET_REQUEST: lambda address: [reset_links.request_reset(address)],
        CONFIRMATION_REQUEST: _confirmation_link_again,
    }


def _confirmation_link_again(address):
    """A new confirmation link if an active account awaits confirmation at `address`, within the
    address's NOTICES_PER_HOUR."""
    user = confirmation.awaiting_confirmation(address)
    if user is None or not confirmation.take_notice(user):
        return []
    return [confirmation_link(user)]


def is_request(row):
    """Whether this outbox row is a stored request (address_request), not a mail."""
    return row.kind in _resolvers()


def address_request(kind, email):
    """Store a request of `kind` for `email`, for the worker to resolve; returns the outbox rows
    written (the request; with devbox, the mails it came to at once)."""
    if current_app.config["MAIL_BACKEND"] == "devbox":
        return _resolve(kind, email)
    return [queue_request(kind, email, REQUEST_SUBJECTS[kind])]


def resolve_request(row):
    """The worker's claim of a stored request: the mails it comes to (queued in this transaction,
    possibly none: no active account has the address, or it had its mails this hour); the request
    row is deleted, so nothing of an address without an account stays."""
    rows = _resolve(row.kind, row.to_addr)
    db.session.delete(row)
    db.session.flush()
    return rows


def _resolve(kind, address):
    lock_name(f"address-request:{address}")  # two workers: one counts the other's mails
    return [row for row in _resolvers()[kind](address) if row is not None]


ROLE_NOUNS = {"customer": "a customer", "technician": "a technician", "admin": "an admin"}


def account_invited(user, actor, url):
    """Welcome someone an admin added without a password, to their own address only: who added
    them and with which role, `url` where they choose a password (it expires), where to ask for a
    new link once it has, and where to log in."""
    return [
        _send(
            "account_invited",
            u,
            "account_invited",
            "Your help desk account: choose a password",
            actor=actor,
            role=ROLE_NOUNS.get(u.role, u.role),
            login_url=public_url("accounts.login"),
            **_first_login(u, url),
        )
        for u in _recipients([user])
    ]


def admin_alert(users, *, subject, text, url):
    """Something an admin must look at (a low bank, unbilled time, a billing problem), with its page."""
    return [
        _send("admin_alert", u, "admin_alert", f"Alert: {subject}", text=text, url=url)
        for u in _recipients(users)
    ]


def low_balance(
    user, *, balance, threshold=None, label=None, bank_name=None, top_up_credits=None, minute_rate=None
):
    """Warn a customer (or org manager) that their bank crossed a low-balance stage. Plain integers;
    `label` names the stage ("25% of the last top-up"), `bank_name` a shared bank, `top_up_credits`
    the automatic top-up the same debit started (the mail says so instead of asking to buy),
    `minute_rate` the credits a minute of agent time costs when the bank's plan bills time (the
    mail then says so, instead of what paid and free priorities cost)."""
    subject = f"{bank_name}: credit balance is low" if bank_name else "Your help desk credit balance is low"
    return [
        _send(
            "low_balance",
            u,
            "low_balance",
            subject,
            balance=balance,
            threshold=threshold,
            label=label,
            bank_name=bank_name,
            top_up_credits=top_up_credits,
            minute_rate=minute_rate,
            url=public_url("credits_portal.bank"),
            buy_url=public_url("billing.index"),
        )
        for u in _recipients([user])
    ]


def purchase_receipt(user, *, credits, amount_minor, currency, reference, url=None, bank_name=None):
    """A receipt for a credit purchase: credits bought, amount in minor units, payment reference
    (and `bank_name` when the credits went to an organization's shared bank)."""
    return [
        _send(
            "purchase_receipt",
            u,
            "purchase_receipt",
            f"Receipt: {credits:,} help desk credits",
            credits=credits,
            amount=format_money(amount_minor, currency),
            reference=reference,
            url=url,
            bank_name=bank_name,
        )
        for u in _recipients([user])
    ]


def payment_link(user, *, credits, amount_minor, currency, url, started_by=None):
    """A phone order's payment link, to the customer it was taken for."""
    return [
        _send(
            "payment_link",
            u,
            "payment_link",
            f"Your payment link for {credits:,} help desk credits",
            credits=credits,
            amount=format_money(amount_minor, currency),
            url=url,
            started_by=started_by,
            **_first_login(u),
        )
        for u in _recipients([user])
    ]


def sla_refund(user, *, credits, ticket=None, target="response", reason="missed", percent=100, lowered=None):
    """Tell a customer why credits paid for a ticket's priority came back (credits.guarantee.refund's
    `target`, `reason` and `percent`): the response target missed, the resolution target missed
    (`percent` of what was paid), the ticket withdrawn before any reply, or merged into another;
    or (`reason` "lowered", `lowered` the old and new priority names) an agent lowered it."""
    subject = _ticket_subject(ticket, "Credits refunded: ") if ticket is not None else "Credits refunded"
    extra = (
        {"priority": ticket.priority.name}
        if ticket is not None
        else {"url": public_url("tickets_portal.tickets")}
    )
    if reason == "lowered":
        why, (extra["lowered_from"], extra["lowered_to"]) = "lowered", lowered
    elif reason.startswith("merged into "):
        why, extra["merged_into"] = "merged", reason.removeprefix("merged into ")
    elif reason == "withdrawn":
        why = "withdrawn"
    else:
        why = "resolution" if target == "resolution" else "response"
    return [
        _send(
            "sla_refund", u, "sla_refund", subject, ticket, credits=credits, why=why, percent=percent, **extra
        )
        for u in _recipients([user])
    ]


def sla_at_risk(ticket, target, agents):
    """Tell the agents working a paid ticket that a target is near (once per ticket and target)."""
    due = ticket.due_at if target == "response" else ticket.resolution_due_at
    what = "first reply" if target == "response" else "resolution"
    return [
        _send(
            "sla_at_risk",
            agent,
            "sla_at_risk",
            _ticket_subject(ticket, "At risk: "),
            ticket,
            what=what,
            due=_local_time(due, agent),
            priority=ticket.priority.name,
        )
        for agent in _recipients(agents)
    ]


def _local_time(moment, user):
    """'Mon 07 Dec 10:00 (Europe/Berlin)': a time as the recipient reads it."""
    try:
        zone = ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return f"{moment.astimezone(zone):%a %d %b %H:%M} ({zone.key})"


def subscription_renewal_failed(user, *, plan_name, url, bank_name=None):
    """Tell a subscriber that the card payment renewing their plan failed, and where to update the
    card (Stripe retries it meanwhile)."""
    return [
        _send(
            "subscription_renewal_failed",
            u,
            "subscription_renewal_failed",
            f"Your {plan_name} subscription could not be renewed",
            plan_name=plan_name,
            bank_name=bank_name,
            url=url,
        )
        for u in _recipients([user])
    ]


def top_up_failed(user, *, credits, amount_minor, currency, reason, url, bank_name=None):
    """Tell whoever set up an automatic top-up that its card was refused, with a link to pay for the
    pack by hand (`reason` says why: the bank wants the payment confirmed, the card was declined)."""
    return [
        _send(
            "top_up_failed",
            u,
            "top_up_failed",
            "Your automatic top-up could not be paid",
            credits=credits,
            amount=format_money(amount_minor, currency),
            reason=reason,
            url=url,
            bank_name=bank_name,
        )
        for u in _recipients([user])
    ]


def credit_request(managers, *, requester, amount, reason, subject, priority, bank_name, url):
    """Tell an organization's managers that a member asks for credits: the amount, the ticket being
    written, why (the shared bank is short, or the member's monthly cap is reached) and a link to
    act on it (buy a pack, or raise the cap)."""
    more = " more" if reason == "cap" else ""
    return [
        _send(
            "credit_request",
            u,
            "credit_request",
            f"{requester.name} asks for {amount:,}{more} credits",
            requester=requester,
            amount=amount,
            reason=reason,
            ticket_subject=subject,
            priority=priority,
            bank_name=bank_name,
            url=url,
        )
        for u in _recipients(managers, exclude=[requester])
    ]


def address_confirmation(user, *, url, hours):
    """The link that confirms a self-registered account's address (valid `hours`), to that address
    only, confirmed or not (the caller decides)."""
    return _send(
        "address_confirmation",
        user,
        "address_confirmation",
        "Confirm your e-mail address for the help desk",
        url=url,
        hours=hours,
    )


def confirmation_link(user):
    """A new account's confirmation link (valid CONFIRM_MAX_AGE_HOURS), by address_confirmation."""
    url = public_url("accounts.confirm_address", token=confirmation.make_token(user))
    return address_confirmation(user, url=url, hours=current_app.config["CONFIRM_MAX_AGE_HOURS"])


def existing_account_notice(user, *, login_url, reset_url):
    """Someone tried to register with the address of an existing account: tell its owner, who can
    sign in or reset the password (the page the registrant saw said only "check your mail")."""
    return _send(
        "existing_account",
        user,
        "existing_account",
        "Someone tried to register with your address",
        login_url=login_url,
        reset_url=reset_url,
    )


def agent_notice(user, notice, *, settings_url):
    """An agent's notice also by mail (they asked for this kind on their preferences page): its
    text, a link to its ticket (or its own link), and where to turn such mails off."""
    base = urlsplit(current_app.config["PUBLIC_URL"])
    url = f"{base.scheme or 'https'}://{base.netloc}{notice.link}" if notice.link else None  # a path
    subject = _ticket_subject(notice.ticket, "Notice: ") if notice.ticket is not None else "Notice"
    extra = {"url": url} if url else {}
    return [
        _send(
            f"notice_{notice.kind}",
            u,
            "agent_notice",
            subject,
            notice.ticket,
            text=notice.text,
            settings_url=settings_url,
            **extra,
        )
        for u in _recipients([user])
    ]
