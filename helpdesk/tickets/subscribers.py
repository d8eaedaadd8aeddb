"""Ticket subscribers: regular users who follow a ticket, may reply, are never assigned, take no seat."""

from datetime import timedelta

from sqlalchemy import func, select

from helpdesk import events, policy
from helpdesk.accounts import auth as accounts
from helpdesk.accounts import password_reset
from helpdesk.accounts.models import User
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets.editing import person
from helpdesk.tickets.models import Subscription, Ticket, TicketEvent

# Subscribers an agent may add to one ticket (Zendesk's limit for CCs is 48): the ticket page lists
# them all in its sidebar, and each public reply is mailed to every one. A merge keeps the
# duplicate's subscribers even past it (refusing the merge would keep the duplicate open).
SUBSCRIBERS_MAX = 50


def subscribers_of(ticket):
    """The ticket's subscriptions with their users, by e-mail."""
    return db.session.scalars(
        select(Subscription)
        .join(User, User.id == Subscription.user_id)
        .where(Subscription.ticket_id == ticket.id)
        .options(person(Subscription.user))
        .order_by(User.email)
    ).all()


def add_subscriber(ticket, actor, email):
    """Subscribe the user with this e-mail, creating a passwordless customer if none exists.

    Guarantees: only agents who can edit the ticket; never an agent, a deactivated account or the
    requester; never more than SUBSCRIBERS_MAX; adding someone already subscribed changes nothing
    (and sends nothing). Returns
    (user, added). The new subscriber is told by e-mail in the same transaction; an account without
    a password gets an invitation (see `request_invitation`).
    """
    if not policy.can_manage_subscribers(actor, ticket):
        raise NotAllowed("You may not change this ticket's subscribers.")
    existing = accounts.find_user_by_email(email)
    if existing is not None and not policy.can_subscribe(existing, ticket):
        raise ValidationFailed(_refusal(existing, ticket))
    if existing is not None and any(s.user_id == existing.id for s in ticket.subscriptions):
        return existing, False
    if len(ticket.subscriptions) >= SUBSCRIBERS_MAX:  # before an account is made for the address
        raise ValidationFailed(
            f"This ticket has {len(ticket.subscriptions)} subscribers, the most it can have: "
            f"remove one before adding {(existing.email if existing else email).strip()}."
        )
    user = existing or accounts.ensure_user(email)
    if any(s.user_id == user.id for s in ticket.subscriptions):
        return user, False
    ticket.subscriptions.append(Subscription(user_id=user.id, added_by_id=actor.id))
    tickets.record_event(ticket, actor, "subscriber added", None, user.email)
    db.session.flush()
    if user.password_hash is None:
        request_invitation(user, ticket, actor)
    else:
        events.subscriber_added.send(ticket=ticket, user=user, actor=actor, set_password_url=None)
    return user, True


def _refusal(user, ticket):
    if user.is_agent:
        return (
            f"{user.email} is an agent: agents follow tickets through their categories, not as subscribers."
        )
    if not user.active:
        return f"{user.email} is deactivated."
    return f"{user.email} is the requester and already receives every reply."


def request_invitation(user, ticket, invited_by):
    """Queue the subscriber mail for an account without a password, carrying a signed link to
    choose one, and note "invitation sent" in the ticket's history. Only flushes: the mail exists
    exactly when the subscription does.
    """
    url = password_reset.set_password_url(user)
    sent = events.subscriber_added.send(ticket=ticket, user=user, actor=invited_by, set_password_url=url)
    rows = [row for result in sent for row in result or ()]
    if rows:
        tickets.record_event(ticket, invited_by, "invitation sent", None, user.email)
    return rows


def remove_subscriber(ticket, actor, user_id):
    """Unsubscribe a user; True if they were subscribed. Only agents who can edit the ticket."""
    if not policy.can_manage_subscribers(actor, ticket):
        raise NotAllowed("You may not change this ticket's subscribers.")
    subscription = next((s for s in ticket.subscriptions if s.user_id == user_id), None)
    if subscription is None:
        return False
    ticket.subscriptions.remove(subscription)
    tickets.record_event(ticket, actor, "subscriber removed", subscription.user.email, None)
    db.session.flush()
    return True


def stop_following(ticket, user):
    """`user` stops following `ticket` (a subscriber's own choice: no more mail about it, and
    the ticket leaves their portal). True if they followed it; the history says who left."""
    subscription = next((s for s in ticket.subscriptions if s.user_id == user.id), None)
    if subscription is None:
        return False
    ticket.subscriptions.remove(subscription)
    tickets.record_event(ticket, user, "subscriber removed", user.email, None)
    db.session.flush()
    return True


def stopped_following_lately(ticket_id, user, minutes=60):
    """Whether `user` stopped following ticket `ticket_id` themselves in the last `minutes` (its
    history says so): a second "Stop following" (a double click, another tab) is told it is done,
    instead of a 404 for a ticket they no longer see. Says nothing of tickets they never left."""
    return (
        db.session.scalar(
            select(TicketEvent.id)
            .where(
                TicketEvent.ticket_id == ticket_id,
                TicketEvent.actor_id == user.id,
                TicketEvent.field == "subscriber removed",
                TicketEvent.old_value == user.email,
                TicketEvent.created_at >= utcnow() - timedelta(minutes=minutes),
            )
            .limit(1)
        )
        is not None
    )


def subscription_count(user):
    """How many tickets `user` follows as a subscriber."""
    return db.session.scalar(select(func.count(Subscription.id)).where(Subscription.user_id == user.id))


def requested_count(user):
    """How many tickets `user` opened (is the requester of), whatever their status."""
    return db.session.scalar(select(func.count(Ticket.id)).where(Ticket.requester_id == user.id))


def end_subscriptions(user, actor):
    """`user` became an agent (events.agent_access_granted): agents follow tickets through their
    categories, never as subscribers, so every subscription of theirs ends, each with a
    "subscriber removed" entry in its ticket's history by `actor`. Returns how many."""
    subscriptions = db.session.scalars(
        select(Subscription).where(Subscription.user_id == user.id).order_by(Subscription.ticket_id)
    ).all()
    for subscription in subscriptions:
        ticket = subscription.ticket
        ticket.subscriptions.remove(subscription)
        tickets.record_event(ticket, actor, "subscriber removed", user.email, None)
    db.session.flush()
    return len(subscriptions)
