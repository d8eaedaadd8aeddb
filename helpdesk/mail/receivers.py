"""The mail domain's answer to other domains' events: each one queues its notifications.

Connected by `mail.init_app`; every receiver runs in the sender's transaction and only flushes
(see `helpdesk.events`), so a notification exists exactly when its cause does.
"""

from datetime import timedelta

from sqlalchemy import func, select

from helpdesk import events
from helpdesk.accounts.models import User
from helpdesk.accounts.users import active_admins
from helpdesk.billing.models import KIND_TOP_UP, PAYMENT_PENDING, Payment
from helpdesk.credits.alerts import alert_recipients
from helpdesk.credits.models import ALERT_LOW_BALANCE, ALERT_UNBILLED_TIME, BILLING_TIME
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.mail import notify
from helpdesk.mail.models import OutboxMessage
from helpdesk.notices import preferences
from helpdesk.notices.models import KIND_ASSIGNED, KIND_AT_RISK, KIND_MENTIONED
from helpdesk.notices.service import ticket_agents
from helpdesk.tickets.models import STATUS_RESOLVED
from helpdesk.web import public_url

RESET_MAILS_PER_HOUR = 3  # reset links one address receives at most, however often it is asked


def on_ticket_created(ticket):
    notify.ticket_created(ticket)


def on_message_posted(message, first_agent_reply):
    notify.public_reply(message)


def on_status_changed(ticket, actor, old, new):
    if new == STATUS_RESOLVED:
        notify.ticket_resolved(ticket, actor)


def on_subscriber_added(ticket, user, actor, set_password_url):
    return notify.subscriber_added(ticket, user, actor, set_password_url=set_password_url)


def _mails_this_hour(kind, user, *, to_addr=None):
    query = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == kind,
        OutboxMessage.user_id == user.id,
        OutboxMessage.created_at >= utcnow() - timedelta(hours=1),
    )
    if to_addr is not None:
        query = query.where(OutboxMessage.to_addr == to_addr)
    return db.session.scalar(query)


def on_password_reset_asked(email):
    """Only the address is stored: the worker decides whether it gets a link (notify.resolve_request)."""
    return notify.address_request(notify.RESET_REQUEST, email)


def on_confirmation_link_asked(email):
    """Only the address is stored: the worker decides whether it gets a link (notify.resolve_request)."""
    return notify.address_request(notify.CONFIRMATION_REQUEST, email)


def on_password_reset_requested(user, url):
    """The reset link, unless this address already got RESET_MAILS_PER_HOUR in the last hour."""
    if _mails_this_hour("password_reset", user) >= RESET_MAILS_PER_HOUR:
        return None
    return notify.password_reset(user, url)


def on_account_invited(user, actor, url):
    """The invitation, unless the account's address already got RESET_MAILS_PER_HOUR invitations
    in the last hour (an admin sending it again, or correcting the address)."""
    if _mails_this_hour("account_invited", user, to_addr=user.email) >= RESET_MAILS_PER_HOUR:
        return None
    return notify.account_invited(user, actor, url)


def on_credit_alert(alert, label):
    """A low balance goes to the bank's customer (or its organization's managers) and the admins,
    unbilled time to the admins; a guarantee refund is the customer's news (on_guarantee_refunded)."""
    account = alert.account
    if alert.kind == ALERT_LOW_BALANCE:
        recipients = alert_recipients(alert)
        shared = account.organization.name if account.organization_id else None
        topping_up = db.session.scalar(  # recorded by the same debit (credits.ledger.post_entry)
            select(Payment.credits).where(
                Payment.account_id == account.id,
                Payment.kind == KIND_TOP_UP,
                Payment.status == PAYMENT_PENDING,
            )
        )
        for user in recipients["customers"]:
            notify.low_balance(
                user,
                balance=alert.balance,
                threshold=alert.threshold,
                label=label,
                bank_name=shared,
                top_up_credits=topping_up,
                minute_rate=account.plan.minute_rate if account.plan.billing_mode == BILLING_TIME else None,
            )
        _mail_admins(alert, "Low credit balance", recipients["admins"])
    elif alert.kind == ALERT_UNBILLED_TIME:
        _mail_admins(alert, "Unbilled time", active_admins())


def _mail_admins(alert, what, admins):
    owner = alert.account.owner_name
    url = public_url("credits_admin.account", account_id=alert.account_id)
    notify.admin_alert(admins, subject=f"{what} ({owner})", text=f"Bank of {owner}: {alert.text}", url=url)
    alert.notified_at = utcnow()
    db.session.flush()


def on_guarantee_refunded(ticket, credits, entry, alert, target, payer, reason, percent):
    notify.sla_refund(payer, credits=credits, ticket=ticket, target=target, reason=reason, percent=percent)
    alert.notified_at = utcnow()


def on_priority_lowered(ticket, credits, entry, payer, old_priority, new_priority):
    """The refund of an agent's lowering is mailed to whoever paid, as a guarantee refund is."""
    notify.sla_refund(
        payer, credits=credits, ticket=ticket, reason="lowered", lowered=(old_priority, new_priority)
    )


def on_sla_at_risk(ticket, target):
    agents = [a for a in ticket_agents(ticket) if preferences.mail_wanted(a, KIND_AT_RISK)]
    notify.sla_at_risk(ticket, target, agents)


NOTICES_MAILED_HERE = (KIND_ASSIGNED, KIND_MENTIONED)  # the others have mails of their own above


def on_notice_created(notice):
    """An agent's "assigned to you" or "mentioned" notice, also by mail if they asked for it."""
    if notice.kind not in NOTICES_MAILED_HERE:
        return None
    user = db.session.get(User, notice.user_id)
    if not preferences.mail_wanted(user, notice.kind):
        return None
    return notify.agent_notice(user, notice, settings_url=public_url("notices_account.settings"))


def on_payment_credited(payment):
    notify.purchase_receipt(
        payment.user,
        credits=payment.credits,
        amount_minor=payment.amount,
        currency=payment.currency,
        reference=f"Payment #{payment.id} ({payment.stripe_session_id})",
        url=public_url("billing.receipt", payment_id=payment.id),
        bank_name=payment.account.owner_name if payment.account.organization_id else None,
    )


def on_subscription_invoice_paid(invoice, subscription, credits):
    """A paid subscription invoice's receipt: the same mail as a pack's."""
    account = subscription.account
    return notify.purchase_receipt(
        subscription.user,
        credits=credits,
        amount_minor=invoice.amount_paid,
        currency=invoice.currency,
        reference=f"{subscription.plan.name} subscription, invoice {invoice.invoice_id}",
        url=public_url("billing.invoice_receipt", invoice_id=invoice.id),
        bank_name=account.owner_name if account.organization_id else None,
    )


def on_payment_link_created(payment, customer, actor, url):
    return notify.payment_link(
        customer,
        credits=payment.credits,
        amount_minor=payment.amount,
        currency=payment.currency,
        url=url,
        started_by=actor,
    )


def on_billing_alert(alert, subject):
    notify.admin_alert(
        active_admins(), subject=subject, text=alert.message, url=public_url("billing_admin.alerts")
    )


def on_subscription_renewal_failed(subscription, url):
    account = subscription.account
    return notify.subscription_renewal_failed(
        subscription.user,
        plan_name=subscription.plan.name,
        url=url,
        bank_name=account.owner_name if account.organization_id else None,
    )


def on_top_up_failed(payment, reason, url):
    return notify.top_up_failed(
        payment.user,
        credits=payment.credits,
        amount_minor=payment.amount,
        currency=payment.currency,
        reason=reason,
        url=url,
        bank_name=payment.account.owner_name if payment.account.organization_id else None,
    )


def on_credit_requested(request, managers, link):
    endpoint, values = link
    values = dict(values)
    anchor = values.pop("_anchor", None)
    notify.credit_request(
        managers,
        requester=request.requester,
        amount=request.amount,
        reason=request.reason,
        subject=request.subject,
        priority=request.priority,
        bank_name=request.account.owner_name,
        url=public_url(endpoint, **values) + (f"#{anchor}" if anchor else ""),
    )


RECEIVERS = (
    (events.ticket_created, on_ticket_created),
    (events.message_posted, on_message_posted),
    (events.ticket_status_changed, on_status_changed),
    (events.subscriber_added, on_subscriber_added),
    (events.password_reset_asked, on_password_reset_asked),
    (events.confirmation_link_asked, on_confirmation_link_asked),
    (events.password_reset_requested, on_password_reset_requested),
    (events.account_invited, on_account_invited),
    (events.credit_alert_raised, on_credit_alert),
    (events.guarantee_refunded, on_guarantee_refunded),
    (events.priority_lowered, on_priority_lowered),
    (events.sla_at_risk, on_sla_at_risk),
    (events.payment_credited, on_payment_credited),
    (events.subscription_invoice_paid, on_subscription_invoice_paid),
    (events.payment_link_created, on_payment_link_created),
    (events.billing_alert_raised, on_billing_alert),
    (events.subscription_renewal_failed, on_subscription_renewal_failed),
    (events.top_up_failed, on_top_up_failed),
    (events.credit_requested, on_credit_requested),
    (events.notice_created, on_notice_created),
)


def connect():
    for event, receiver in RECEIVERS:
        event.connect(receiver)
