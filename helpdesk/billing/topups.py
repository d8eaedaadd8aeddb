"""Automatic top-ups: "when the balance falls under X, buy pack Y" with a saved card.

Guarantees:
- a bank has at most one rule, set by whoever may buy credits for it (the customer, or the
  organization's manager); its card is saved through Stripe Checkout in setup mode and recorded
  only from Stripe's `setup_intent.succeeded` (or `checkout.session.completed`) events;
- the card is its owner's (who saved it): it pays only while they may buy for the bank (a manager
  who left the organization, or stopped managing it, never pays for it again), and another
  manager who takes the rule over saves their own card (`card_usable`, `save_rule`);
- a top-up is recorded in the transaction of the debit that takes the balance from X or more to
  under X: a pending top-up Payment keyed `top-up:<bank>:<that ledger entry>`, unique, so one
  crossing never makes two top-ups, whatever races (debits are serialised by the bank's row
  lock, so two charges at once cross once); none while one is still in flight, and none for a
  card refund or dispute (a reversed payment must not buy again);
- the card is charged after that transaction commits (billing.topup_runner), never under the
  bank's lock;
- credits come only from `payment_intent.succeeded` (amount and currency checked against our
  row); a refused card (authentication needed, declined) fails the top-up once: a mail to the
  rule's owner with a link to pay for the pack by hand, and an admin alert.
"""

import hashlib
from dataclasses import dataclass

from flask_sqlalchemy.session import Session
from sqlalchemy import bindparam, event, select

from helpdesk import events, policy
from helpdesk.billing import charges, gateway
from helpdesk.billing.alerts import alert
from helpdesk.billing.event_shapes import metadata
from helpdesk.billing.models import (
    KIND_TOP_UP,
    PAYMENT_EXPIRED,
    PAYMENT_FAILED,
    PAYMENT_PENDING,
    PROVIDER_DEMO,
    AutoTopUp,
    CreditPack,
    Payment,
)
from helpdesk.billing.purchases import active_packs, purchase_bank, purchase_target
from helpdesk.credits.models import KIND_REVERSAL
from helpdesk.dbtypes import utcnow
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.formfields import parse_id
from helpdesk.querying import add_unless_twin
from helpdesk.web import public_url

FAILURE_REASONS = {
    "authentication_required": "your bank asks you to confirm the payment yourself",
    "card_declined": "your card was declined",
    "expired_card": "your card has expired",
    "insufficient_funds": "your card was declined for insufficient funds",
}
_PENDING, _READY = "billing_top_ups_pending", "billing_top_ups_ready"


@dataclass(frozen=True)
class TopUpPanel:
    """The billing page's automatic top-up section for one viewer."""

    rule: AutoTopUp | None
    packs: list
    may_manage: bool
    card_usable: bool  # the rule's card pays (card_usable)


def rule_for(account):
    if account is None:
        return None
    return db.session.scalar(select(AutoTopUp).where(AutoTopUp.account_id == account.id))


def card_usable(rule):
    """The rule's saved card may be charged for its bank: the card is its owner's, so only while
    that owner may still buy credits for the bank."""
    return bool(rule is not None and rule.has_card and policy.can_buy_for_bank(rule.user, rule.account))


def panel(user):
    target = purchase_target(user)
    rule = rule_for(target.account)
    return TopUpPanel(
        rule=rule, packs=active_packs(), may_manage=target.refusal is None, card_usable=card_usable(rule)
    )


def save_rule(user, *, threshold, pack_id, enabled, actor):
    """Create or change the bank's rule. Returns it (a new rule waits for its card)."""
    if actor.id != user.id:
        raise NotAllowed("Customers set up their own automatic top-up.")
    pack = db.session.get(CreditPack, pack_id)
    if pack is None or not pack.active:
        raise ValidationFailed("That credit pack is no longer on sale.")
    if threshold < 0:
        raise ValidationFailed("The balance to top up under is 0 or more.")
    account = purchase_bank(user, actor)
    rule = rule_for(account)
    if rule is None:  # a double click's twin request (another app server) may insert it meanwhile
        new = AutoTopUp(
            account_id=account.id, user_id=user.id, pack_id=pack.id, provider=gateway.provider() or ""
        )
        rule, _new = add_unless_twin(new, lambda: rule_for(account))
    if rule.user_id is not None and rule.user_id != user.id:  # the card saved is the other person's
        rule.stripe_customer_id = rule.payment_method_id = rule.card_saved_at = None
    rule.user_id, rule.pack_id, rule.threshold, rule.enabled = user.id, pack.id, threshold, bool(enabled)
    db.session.add(rule)
    db.session.flush()
    return rule


def start_card_setup(user, nonce, *, actor, return_urls):
    """Start (or find again) saving a card for the bank's rule. Returns the rule."""
    kind = gateway.provider()
    if kind is None:
        raise gateway.PaymentsUnavailable("Card payments are not set up on this help desk.")
    account = purchase_bank(user, actor)
    rule = rule_for(account)
    if rule is None or actor.id != user.id:
        raise ValidationFailed("Choose the balance and the pack first.")
    key = f"card:{account.id}:{hashlib.sha256(nonce.encode()).hexdigest()[:32]}"
    if rule.setup_key == key:
        return rule
    if kind == PROVIDER_DEMO:
        session_id, url = gateway.demo_session_id(key), None
    else:
        session_id, url = gateway.create_setup_checkout(
            customer=user,
            stripe_customer_id=rule.stripe_customer_id,
            currency=rule.pack.currency,
            refs={"top_up": str(rule.id), "setup_ref": key},
            idempotency_key=key,
            return_urls=return_urls,
        )
    rule.provider, rule.setup_key, rule.setup_session_id, rule.setup_url = kind, key, session_id, url
    db.session.flush()
    return rule


# The crossing: in the debit's transaction, under the bank's row lock.


TOP_UP_RULE = select(
    AutoTopUp.id, AutoTopUp.threshold, AutoTopUp.enabled, AutoTopUp.payment_method_id, AutoTopUp.card_saved_at
).where(AutoTopUp.account_id == bindparam("account_id"))  # built once: every debit runs it

TOP_UP_SINCE = select(Payment.id).where(
    Payment.account_id == bindparam("account_id"),
    Payment.kind == KIND_TOP_UP,
    Payment.created_at >= bindparam("since"),
)


def on_balance_changed(account, old_balance, entry):
    """Receiver of events.balance_changed: record a top-up when a debit crosses under the
    threshold, or is the first debit under it since the card was saved (a rule set up while the
    balance was already under its threshold would otherwise wait for a crossing that never comes)."""
    if entry.amount >= 0 or entry.kind == KIND_REVERSAL:
        return None
    # Every debit asks, so ask for columns only; the rule itself is loaded for a crossing.
    row = db.session.execute(TOP_UP_RULE, {"account_id": account.id}).first()
    if row is None or not row.enabled or not row.payment_method_id:
        return None
    if not account.balance < row.threshold:
        return None
    if old_balance < row.threshold:  # already under before this debit: only a first one buys
        since = row.card_saved_at
        if since is None or db.session.scalar(TOP_UP_SINCE, {"account_id": account.id, "since": since}):
            return None
    rule = db.session.get(AutoTopUp, row.id)
    if not card_usable(rule):  # its owner may no longer buy for this bank
        return None
    in_flight = db.session.scalar(
        select(Payment.id).where(
            Payment.account_id == account.id, Payment.kind == KIND_TOP_UP, Payment.status == PAYMENT_PENDING
        )
    )
    if in_flight is not None or not rule.pack.active:
        return None
    pack = rule.pack
    payment = Payment(
        account_id=account.id,
        pack_id=pack.id,
        user_id=rule.user_id,
        provider=rule.provider,
        kind=KIND_TOP_UP,
        credits=pack.credits,
        amount=pack.price,
        currency=pack.currency,
        status=PAYMENT_PENDING,
        idempotency_key=f"top-up:{account.id}:{entry.id}",
    )
    db.session.add(payment)
    db.session.flush()
    db.session.info.setdefault(_PENDING, []).append(payment.id)
    return payment


@event.listens_for(Session, "after_commit")
def _committed(session):
    """Top-ups recorded by a transaction become due for charging once it has committed."""
    ids = session.info.pop(_PENDING, None)
    if ids:
        session.info.setdefault(_READY, []).extend(ids)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session):
    session.info.pop(_PENDING, None)


def committed_top_ups():
    """Ids of top-ups recorded by transactions of this session that have committed (taken once)."""
    return db.session.info.pop(_READY, [])


# Stripe's events about saved cards and off-session payments.


def _rule_by_setup(setup_session_id=None, ref=None):
    conditions = []
    if setup_session_id:
        conditions.append(AutoTopUp.setup_session_id == setup_session_id)
    if parse_id(ref):
        conditions.append(AutoTopUp.id == parse_id(ref))
    for condition in conditions:
        rule = db.session.scalar(select(AutoTopUp).where(condition).with_for_update(of=AutoTopUp))
        if rule is not None:
            return rule
    return None


def on_setup_session_completed(session):
    """checkout.session.completed in setup mode: the card's customer (its card comes with the
    SetupIntent's event)."""
    rule = _rule_by_setup(session["id"], metadata(session).get("top_up"))
    if rule is None:
        return "ignored: unknown card setup"
    rule.stripe_customer_id = session.get("customer") or rule.stripe_customer_id
    db.session.flush()
    return f"top-up {rule.id}: card setup completed"


def on_setup_intent_succeeded(intent):
    """setup_intent.succeeded: the saved card (and its customer) for the rule named in metadata."""
    rule = _rule_by_setup(ref=metadata(intent).get("top_up"))
    if rule is None:
        return "ignored: not an automatic top-up card"
    if not intent.get("payment_method") or not intent.get("customer"):
        return f"waiting: top-up {rule.id} card without a payment method or customer"
    rule.payment_method_id = intent["payment_method"][:255]
    rule.stripe_customer_id = intent["customer"][:255]
    rule.card_saved_at = utcnow()
    db.session.flush()
    return f"top-up {rule.id}: card saved"


def _top_up_of(intent):
    """The top-up Payment a PaymentIntent is for (by its id, else our metadata), or None."""
    payment_id = db.session.scalar(
        select(Payment.id).where(Payment.payment_intent_id == intent["id"], Payment.kind == KIND_TOP_UP)
    )
    ref = metadata(intent)
    if payment_id is None and parse_id(ref.get("top_up_payment")):
        payment_id = db.session.scalar(
            select(Payment.id).where(
                Payment.id == parse_id(ref["top_up_payment"]),
                Payment.kind == KIND_TOP_UP,
                Payment.idempotency_key == ref.get("top_up"),
            )
        )
    return payment_id


def on_payment_intent_succeeded(intent):
    """payment_intent.succeeded of a top-up: credit its pack once (refunds seen earlier applied)."""
    payment_id = _top_up_of(intent)
    if payment_id is None:
        return "ignored: not an automatic top-up"
    charge = charges.lock_charge(intent["id"])  # the one lock order: charge, payment, bank
    payment = charges.lock_payment(payment_id)
    charges.link(charge, payment)
    if payment.credited_at is not None:
        return f"no change: payment {payment.id} already credited"
    if intent["amount"] != payment.amount or intent["currency"].lower() != payment.currency:
        alert(
            "amount_mismatch",
            f"Top-up {intent['id']} was paid as {intent['amount']} {intent['currency']}, expected "
            f"{payment.amount} {payment.currency}; payment {payment.id} was not credited.",
            payment,
        )
        return f"refused: amount mismatch on payment {payment.id}"
    outcome = charges.credit(payment)
    if charge.amount_refunded or charge.disputes:
        due, _entry = charges.settle(payment, charge, "Refunds and disputes reported before the payment")
        outcome += f"; {due} credits reversed for earlier refunds or disputes"
    return outcome


def on_payment_intent_failed(intent):
    """payment_intent.payment_failed of a top-up: fail it (once) with the card's error code."""
    payment_id = _top_up_of(intent)
    if payment_id is None:
        return "ignored: not an automatic top-up"
    payment = charges.lock_payment(payment_id)
    code = (intent.get("last_payment_error") or {}).get("code") or "card_error"
    payment.payment_intent_id = payment.payment_intent_id or intent["id"][:255]
    return fail(payment, code)


def fail(payment, code):
    """A pending top-up the card refused: failed, its owner mailed a link to pay by hand, admins
    alerted. Once: a top-up that is no longer pending changes nothing."""
    if payment.status != PAYMENT_PENDING or payment.credited_at is not None:
        return f"no change: payment {payment.id} is {payment.status}"
    payment.status, payment.failure_code, payment.claimed_until = PAYMENT_FAILED, code[:50], None
    db.session.flush()
    reason = FAILURE_REASONS.get(code, "your card was refused")
    url = public_url("billing.top_up_pay", payment_id=payment.id)
    events.top_up_failed.send(payment=payment, reason=reason, url=url)
    alert(
        "top_up_failed",
        f"The automatic top-up of {payment.account.owner_name} ({payment.pack.name}, payment "
        f"#{payment.id}) failed: {code}. {payment.user.name} was mailed a link to pay by hand.",
        payment,
    )
    return f"failed: top-up {payment.id} ({code})"


def withdraw(payment, code):
    """A pending top-up whose card may no longer be charged for its bank (card_usable): cancelled
    before any charge, nobody mailed. Should an earlier attempt have reached Stripe after all, its
    `payment_intent.succeeded` still credits it."""
    payment.status, payment.failure_code, payment.claimed_until = PAYMENT_EXPIRED, code[:50], None
    db.session.flush()
    return f"withdrawn: top-up {payment.id} ({code})"
