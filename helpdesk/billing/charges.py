"""Crediting paid card payments, and their refunds and disputes, in any order and any number of times.

Guarantees (the caller has verified the event; the view commits):
- a paid payment credits its bank once (ledger key `purchase:<ref>`, the Payment row locked) and
  queues its receipt;
- what Stripe reports about a payment intent's charge (the highest cumulative refund, each
  dispute and whether its funds are withdrawn or reinstated) is kept in a CardCharge row, even
  when no payment is known for it yet (a refund may arrive before the checkout completes), and
  applied when the payment turns up;
- a payment's ledger always ends at the same place for the same facts, whatever their order:
  `settle` reverses `credits * min(amount, refunded + withheld by disputes) // amount` credits in
  total, posting only the difference from what is already reversed (negative: credits back when a
  dispute's funds are reinstated);
- locks are taken in one order everywhere: the CardCharge row, then the Payment row, then the bank
  (post_entry), so concurrent deliveries for one charge wait for each other instead of deadlocking.
"""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from helpdesk import events
from helpdesk.billing.alerts import alert, resolve_by_reference
from helpdesk.billing.event_shapes import MalformedEvent
from helpdesk.billing.models import (
    PAYMENT_PAID,
    PAYMENT_PARTIALLY_REFUNDED,
    PAYMENT_REFUNDED,
    CardCharge,
    CardDispute,
    Payment,
    PaymentRefund,
)
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import KIND_PURCHASE, KIND_REVERSAL, LedgerEntry
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.money import format_money


def lock_payment(payment_id):
    """The payment row, locked until the transaction ends (column-only SELECT FOR UPDATE), re-read."""
    db.session.execute(select(Payment.id).where(Payment.id == payment_id).with_for_update()).one()
    return db.session.get(Payment, payment_id, populate_existing=True)


def credit(payment):
    """Credit a paid payment's bank once (ledger key purchase:<ref>) and queue the receipt."""
    ref = payment.ledger_ref
    credits.post_entry(
        payment.account_id,
        payment.credits,
        KIND_PURCHASE,
        idempotency_key=f"purchase:{ref}",
        payment_ref=ref,
        memo=f"{'Automatic top-up' if payment.is_top_up else 'Card purchase'}: {payment.pack.name} "
        f"(payment #{payment.id})",
    )
    payment.status = PAYMENT_PAID
    payment.credited_at = utcnow()
    db.session.flush()
    events.payment_credited.send(payment=payment)
    return f"credited: payment {payment.id}, {payment.credits} credits"


def lock_charge(payment_intent_id):
    """The CardCharge of a payment intent, created if new, locked until the transaction ends."""
    payment_intent_id = str(payment_intent_id)[:255]
    query = select(CardCharge.id).where(CardCharge.payment_intent_id == payment_intent_id)
    charge_id = db.session.scalar(query)
    if charge_id is None:
        try:
            with db.session.begin_nested():  # a concurrent first event for it waits here, then fails
                row = CardCharge(payment_intent_id=payment_intent_id)
                db.session.add(row)
                db.session.flush()
                charge_id = row.id
        except IntegrityError:
            charge_id = db.session.scalar(query)
    db.session.execute(select(CardCharge.id).where(CardCharge.id == charge_id).with_for_update()).one()
    return db.session.get(CardCharge, charge_id, populate_existing=True)


def payment_of(charge):
    """The payment this charge belongs to (locked, and linked to the charge), or None yet."""
    payment_id = charge.payment_id or db.session.scalar(
        select(Payment.id).where(Payment.payment_intent_id == charge.payment_intent_id)
    )
    if payment_id is None:
        return None
    payment = lock_payment(payment_id)
    link(charge, payment)
    return payment


def link(charge, payment):
    """Tie a charge to its payment; alerts raised while it matched nothing are resolved."""
    if charge.payment_id == payment.id:
        return
    charge.payment_id = payment.id
    payment.payment_intent_id = payment.payment_intent_id or charge.payment_intent_id
    if charge.charge_id and not payment.charge_id:
        payment.charge_id = charge.charge_id
    db.session.flush()
    resolve_by_reference(charge.payment_intent_id, payment)


def reversal_due(payment, amount_taken):
    """Credits to reverse in total when `amount_taken` of the price went back (cumulative refunds
    plus withheld disputes): credits * taken / amount, rounded down, never more than bought."""
    taken = max(0, min(int(amount_taken), payment.amount))
    return payment.credits * taken // payment.amount, taken


def settle(payment, charge, why):
    """Bring the payment's ledger in line with everything known about its charge.

    Returns (credits reversed by this call, negative when given back; the ledger entry or None).
    """
    refunded = max(payment.amount_refunded, min(charge.amount_refunded, payment.amount) if charge else 0)
    newly_refunded = max(0, refunded - payment.amount_refunded)
    if refunded > payment.amount_refunded:
        payment.amount_refunded, payment.refunded_at = refunded, utcnow()
        db.session.add(
            PaymentRefund(payment_id=payment.id, amount=newly_refunded, refunded_at=payment.refunded_at)
        )
    if payment.credited_at is None:  # nothing was credited: nothing to take back (yet)
        db.session.flush()
        _refunded(payment, newly_refunded)
        return 0, None
    withheld = sum(d.withheld for d in charge.disputes) if charge else 0
    target, _taken = reversal_due(payment, refunded + withheld)
    if refunded:
        payment.status = PAYMENT_REFUNDED if refunded >= payment.amount else PAYMENT_PARTIALLY_REFUNDED
    else:
        payment.status = PAYMENT_PAID
    due = target - payment.credits_reversed
    entry = None
    if due:
        entry, _created = credits.post_entry(
            payment.account_id,
            -due,
            KIND_REVERSAL,
            idempotency_key=f"reversal:{payment.ledger_ref}:#{_reversal_count(payment) + 1}",
            payment_ref=payment.ledger_ref,
            memo=f"{why} (payment #{payment.id})",
            allow_below_floor=True,
        )
        payment.credits_reversed = target
    db.session.flush()
    _refunded(payment, newly_refunded)
    return due, entry


def _refunded(payment, amount):
    """Announce a newly reported refund (webhooks listen), once the payment shows it."""
    if amount:
        events.payment_refunded.send(payment=payment, amount=amount)


def _reversal_count(payment):
    return db.session.scalar(
        select(func.count(LedgerEntry.id)).where(
            LedgerEntry.payment_ref == payment.ledger_ref, LedgerEntry.kind == KIND_REVERSAL
        )
    )


def on_charge_refunded(charge_obj):
    """charge.refunded: keep the highest cumulative refund; reverse its share once paid."""
    refunded = charge_obj["amount_refunded"]
    if not charge_obj.get("payment_intent"):
        alert(
            "refund_unmatched",
            f"Stripe refunded {refunded} on charge {charge_obj['id']}, which has no payment intent "
            "and matches no payment here; no credits were reversed.",
        )
        return "ignored: charge without a payment intent"
    charge = lock_charge(charge_obj["payment_intent"])
    charge.charge_id = str(charge_obj["id"])[:255]
    charge.amount_refunded = max(charge.amount_refunded, refunded)
    db.session.flush()
    payment = payment_of(charge)
    if payment is None:
        alert(
            "refund_unmatched",
            f"Stripe refunded {refunded} on charge {charge_obj['id']} (payment intent "
            f"{charge.payment_intent_id}), which matches no payment yet. It is kept and applied if "
            "that payment's checkout completes later.",
            reference=charge.payment_intent_id,
        )
        return f"kept: refund of unknown payment intent {charge.payment_intent_id}"
    why = f"Card refund, {format_money(charge.amount_refunded, payment.currency)} in total"
    due, entry = settle(payment, charge, why)
    if due > 0 and entry is not None and entry.balance_after < 0:
        alert(
            "refund_debt",
            f"Refund on payment #{payment.id} reversed {due} credits that were already spent; "
            f"the bank of {payment.account.owner_name} is now at {entry.balance_after}.",
            payment,
        )
    if payment.credited_at is None:
        return f"recorded: refund of uncredited payment {payment.id}"
    return f"reversed: payment {payment.id}, {due} credits"


def _dispute(charge, obj):
    dispute_id = str(obj["id"])[:255]
    row = db.session.scalar(select(CardDispute).where(CardDispute.dispute_id == dispute_id))
    if row is not None and row.card_charge_id != charge.id:
        raise MalformedEvent(f"dispute {dispute_id} was reported for another payment intent")
    if row is None:  # the charge row is locked: no twin can insert it meanwhile
        row = CardDispute(dispute_id=dispute_id, reason="", status="")
        charge.disputes.append(row)
    row.amount, row.currency = obj["amount"], obj["currency"].lower()[:3]
    row.reason = str(obj.get("reason") or row.reason)[:100]
    row.status = str(obj.get("status") or row.status)[:50]
    db.session.flush()
    return row


def on_dispute_event(kind):
    """A handler for charge.dispute.<kind>: funds_withdrawn, funds_reinstated or closed."""

    def handle(obj):
        if not obj.get("payment_intent"):
            alert("dispute_unmatched", f"Dispute {obj['id']} has no payment intent; nothing was changed.")
            return "ignored: dispute without a payment intent"
        charge = lock_charge(obj["payment_intent"])
        if obj.get("charge"):
            charge.charge_id = charge.charge_id or str(obj["charge"])[:255]
        dispute = _dispute(charge, obj)
        newly_withdrawn = _apply(dispute, kind)
        payment = payment_of(charge)
        due, entry = (0, None) if payment is None else settle(payment, charge, _why(dispute, kind))
        if newly_withdrawn:
            _alert_dispute(dispute, charge, payment, entry)
        where = f"payment {payment.id}" if payment else f"unknown payment intent {charge.payment_intent_id}"
        return f"dispute {kind}: {dispute.dispute_id} on {where}, {due} credits"

    return handle


def _apply(dispute, kind):
    """Record the event on the dispute; True when its funds are first known to be withdrawn."""
    now = utcnow()
    first = dispute.funds_withdrawn_at is None
    if kind == "funds_withdrawn":
        dispute.funds_withdrawn_at = dispute.funds_withdrawn_at or now
    elif kind == "funds_reinstated":  # reinstated funds were withdrawn first, whatever came in first
        dispute.funds_withdrawn_at = dispute.funds_withdrawn_at or now
        dispute.funds_reinstated_at = dispute.funds_reinstated_at or now
    else:
        dispute.closed_at = dispute.closed_at or now
        return False
    db.session.flush()
    return first


def _why(dispute, kind):
    amount = format_money(dispute.amount, dispute.currency)
    if kind == "funds_reinstated":
        return f"Card dispute {dispute.dispute_id} won: {amount} reinstated"
    return f"Card dispute {dispute.dispute_id}: {amount} withdrawn"


def _alert_dispute(dispute, charge, payment, entry):
    amount = format_money(dispute.amount, dispute.currency)
    head = f"Dispute {dispute.dispute_id} ({dispute.reason or 'no reason given'}) withdrew {amount}"
    if payment is None:
        text = (
            f"{head} from payment intent {charge.payment_intent_id}, which matches no payment yet; "
            "it is kept and applied if that payment's checkout completes later."
        )
        return alert("dispute", text)  # stays open when the payment turns up: the dispute needs an answer
    if dispute.funds_reinstated_at is not None:
        text = f"{head} from payment #{payment.id}, and the funds were already reinstated."
    elif payment.credited_at is None:
        text = f"{head} from payment #{payment.id}, which was never credited."
    else:
        balance = (
            entry.balance_after if entry is not None else credits.lock_account(payment.account_id).balance
        )
        debt = " (in debt: the credits were already spent)" if balance < 0 else ""
        text = (
            f"{head} from payment #{payment.id}; its share of the credits was reversed. "
            f"The bank of {payment.account.owner_name} is at {balance}{debt}."
        )
    return alert("dispute", text, payment)
