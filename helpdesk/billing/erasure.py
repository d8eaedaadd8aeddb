"""What billing keeps of a customer whose personal data an admin erased
(events.personal_data_erased; docs/decisions.md, "Erasing a customer's personal data").

Payments, subscriptions and invoices keep their amounts, states and Stripe references (the
ledger, refunds and disputes need them); what identifies the person goes, Stripe's customer ids
included. Stripe itself is not called: its own records are the desk's admins' to erase there.
"""

import json

from sqlalchemy import select, update

from helpdesk.accounts.erasure import replace_in
from helpdesk.billing.models import AutoTopUp, BillingAlert, Payment, PlanSubscription, StripeEvent
from helpdesk.credits.models import CreditAccount
from helpdesk.extensions import db


def erase(user, actor, former, **_event):
    """events.personal_data_erased: guarantees that their payments keep no address a payment link
    went to nor a checkout link; their subscriptions and automatic top-ups no Stripe customer,
    saved card or set-up link (the top-up is turned off: nobody is left to hear of it); their
    bank's billing alerts and the Stripe events received (kept for audit) no longer name them.
    Flushes only."""
    options = {"synchronize_session": False}
    db.session.execute(
        update(Payment).where(Payment.user_id == user.id).values(link_email_to=None, checkout_url=None),
        execution_options=options,
    )
    db.session.execute(
        update(PlanSubscription)
        .where(PlanSubscription.user_id == user.id)
        .values(stripe_customer_id=None, checkout_url=None),
        execution_options=options,
    )
    db.session.execute(
        update(AutoTopUp)
        .where(AutoTopUp.user_id == user.id)
        .values(
            enabled=False, stripe_customer_id=None, payment_method_id=None, setup_url=None, card_saved_at=None
        ),
        execution_options=options,
    )
    banks = select(CreditAccount.id).where(CreditAccount.user_id == user.id)
    replace_in(
        BillingAlert.message,
        former.name,
        user.name,
        BillingAlert.account_id.in_(banks),
        BillingAlert.message.contains(f"bank of {former.name}", autoescape=True),
    )
    # The name first: the address is what finds their events, and is replaced last.
    for old, new in ((_in_json(former.name), _in_json(user.name)), (former.email, user.email)):
        replace_in(StripeEvent.payload, old, new, StripeEvent.payload.contains(former.email, autoescape=True))
    db.session.flush()


def _in_json(text):
    """`text` as it is written inside a JSON string (quotes and backslashes escaped)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]
