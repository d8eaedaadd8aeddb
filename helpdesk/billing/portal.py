"""Customer billing pages: balance and packs, buying, the success poll, receipts, demo checkout, webhook."""

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.billing import demo_provider, payment_events, subscriptions, topups
from helpdesk.billing import gateway as payments
from helpdesk.billing import purchases as billing
from helpdesk.billing.blueprints import bp
from helpdesk.billing.forms import BuyForm, DemoCheckoutForm, TopUpForm
from helpdesk.billing.models import PAYMENT_PENDING, PROVIDER_DEMO
from helpdesk.credits import credit_requests
from helpdesk.credits import panels as credit_panels
from helpdesk.credits.forms import AskManagerForm
from helpdesk.extensions import csrf
from helpdesk.htmx import hx_redirect_or, render_page_or_block
from helpdesk.querying import row_id
from helpdesk.tickets import panels as ticket_panels
from helpdesk.web import paginate


def return_urls():
    """Stripe's success and cancel addresses (Stripe fills in the session id)."""
    success = url_for("billing.checkout_return", _external=True) + "?session_id={CHECKOUT_SESSION_ID}"
    return success, url_for("billing.index", checkout="cancelled", _external=True)


def checkout_location(payment):
    """Where a started checkout continues: Stripe's page, the demo page, or the receipt."""
    if payment.status != PAYMENT_PENDING:
        return url_for("billing.success", payment_id=payment.id)
    if payment.provider == PROVIDER_DEMO:
        return url_for("billing.demo_checkout", payment_id=payment.id)
    return payment.checkout_url


@bp.get("/")
@login_required
def index():
    return billing_page()


def billing_page(refused_top_up=None, status=200):
    """The customer's billing page; `refused_top_up`: the automatic top-up's form as sent, with
    its errors (what was typed stays in the fields)."""
    history = paginate(billing.history_for(current_user))
    history.items = billing.history_items(history.items)
    top_up = topups.panel(current_user)
    target = billing.purchase_target(current_user)
    packs = billing.active_packs()
    member = target.account is not None and target.account.organization_id is not None
    return render_page_or_block(
        "billing/index.html",
        "history",
        status=status,
        target=target,
        packs=packs,
        provider=payments.provider(),
        is_customer=policy.can_buy_credits(current_user),
        nonce=billing.new_nonce(),
        cancelled=request.args.get("checkout") == "cancelled",
        subscribed=bool(request.args.get("subscribed")),
        subscription=subscriptions.panel(current_user),
        top_up=top_up,
        top_up_form=refused_top_up or top_up_form(top_up.rule),
        card_saved=request.args.get("card") == "saved",
        history=history,
        # What an empty history says: a member does not buy (the managers do, and their purchases
        # are on the shared bank's statement, not in the member's history: policy.payment_visibility).
        buys_for_others=member and not policy.can_buy_for_bank(current_user, target.account),
        may_buy=bool(
            policy.can_buy_credits(current_user) and not target.refusal and packs and payments.provider()
        ),
        **_funnel_context(target, packs),
    )


def top_up_form(rule=None, formdata=None):
    """The rule's form (its current values when it exists), with the packs on sale to choose from."""
    data = {"threshold": rule.threshold, "pack_id": rule.pack_id, "enabled": rule.enabled} if rule else {}
    form = TopUpForm(formdata=formdata, data=data)
    form.pack_id.choices = [(p.id, p.label) for p in billing.active_packs()]
    if formdata is None:
        form.nonce.data = billing.new_nonce()
    return form


def _funnel_context(target, packs):
    """What the page says besides the packs: what each pack pays for, the plan switch on a plan
    without credits, the ticket draft waiting for this purchase, a member's "ask a manager" form,
    and, for a manager who followed a member's request, the request and the pack that covers it."""
    priced_on, uses = credit_panels.pack_uses(target.plan, packs)
    draft = ticket_panels.waiting_draft(current_user)
    asked = credit_requests.request_for_manager(current_user, request.args.get("request", type=row_id))
    can_ask = policy.can_ask_for_credits(current_user, target.account)
    return {
        "priced_on": priced_on,
        "pack_uses": uses,
        "switch_offer": credit_panels.switch_offer(current_user, target.plan),
        "draft": draft,
        "draft_link": ticket_panels.draft_url(draft) if draft is not None else None,
        "ask_form": AskManagerForm(formdata=None) if can_ask else None,
        "asked": asked,
        "covering": _covering_pack(packs, asked.amount) if asked is not None else None,
    }


def _covering_pack(packs, amount):
    """The smallest pack with at least `amount` credits (else the largest), or None without packs."""
    enough = [p for p in packs if p.credits >= amount]
    if enough:
        return min(enough, key=lambda p: (p.credits, p.price))
    return max(packs, key=lambda p: p.credits, default=None)


@bp.post("/buy")
@login_required
def buy():
    form = BuyForm()
    if not form.validate_on_submit():
        flash("That purchase could not be started. Reload the page and try again.", "error")
        return redirect(url_for("billing.index"), 303)
    outcome = perform(
        billing.start_checkout,
        current_user,
        int(form.pack_id.data),
        form.nonce.data,
        actor=current_user,
        return_urls=return_urls(),
    )
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for("billing.index"), 303)
    return redirect(checkout_location(outcome.value), 303)


@bp.get("/checkout/return")
@login_required
def checkout_return():
    payment = billing.payment_by_session(request.args.get("session_id", "")[:255])
    if not policy.can_view_payment(current_user, payment):
        abort(404)
    return redirect(url_for("billing.success", payment_id=payment.id))


@bp.get("/payments/<int:payment_id>/success")
@login_required
def success(payment_id):
    payment = policy.get_payment_or_404(current_user, payment_id)
    state = billing.checkout_wait_state(payment)
    if state == "credited":
        back = _back_to_draft(payment)
        if back is not None:
            return back
    return render_page_or_block("billing/success.html", "status", payment=payment, state=state)


def _back_to_draft(payment):
    """Once credited, a buyer who left a ticket draft to buy credits goes back to it (once)."""
    draft = ticket_panels.take_waiting_draft(current_user)
    if draft is None:
        return None
    flash(
        f"Done: {payment.credits:,} credits were added. Your ticket draft is below: submit it when ready.",
        "success",
    )
    url = ticket_panels.draft_url(draft)
    return hx_redirect_or(redirect(url, 303), url)


@bp.get("/payments/<int:payment_id>/pay")
@login_required
def pay_link(payment_id):
    """The payment link of a phone order: continues the checkout, or shows where it stands."""
    payment = policy.get_payment_or_404(current_user, payment_id)
    return redirect(checkout_location(payment), 303)


@bp.get("/payments/<int:payment_id>")
@login_required
def receipt(payment_id):
    payment = policy.get_payment_or_404(current_user, payment_id)
    return render_template("billing/receipt.html", payment=payment)


@bp.get("/invoices/<int:invoice_id>")
@login_required
def invoice_receipt(invoice_id):
    """The receipt of a paid subscription invoice (the payment history links it)."""
    invoice, subscription = policy.get_invoice_or_404(current_user, invoice_id)
    (line,) = billing.history_items([f"invoice:{invoice.id}"])
    return render_template("billing/invoice_receipt.html", line=line)


def _demo_payment_or_404(payment_id):
    payment = policy.get_payment_or_404(current_user, payment_id)
    if payment.provider != PROVIDER_DEMO or payments.provider() != PROVIDER_DEMO:
        abort(404)
    return payment


@bp.get("/demo-checkout/<int:payment_id>")
@login_required
def demo_checkout(payment_id):
    payment = _demo_payment_or_404(payment_id)
    return render_template("billing/demo_checkout.html", payment=payment, form=DemoCheckoutForm())


@bp.post("/demo-checkout/<int:payment_id>")
@login_required
def demo_checkout_post(payment_id):
    payment = _demo_payment_or_404(payment_id)
    if not DemoCheckoutForm().validate_on_submit():
        abort(400)
    if payment.status != PAYMENT_PENDING:  # already paid or cancelled: nothing more to do here
        return redirect(url_for("billing.success", payment_id=payment.id), 303)
    paying = request.form.get("action") == "pay"
    perform(
        demo_provider.session_event,
        payment,
        "checkout.session.completed" if paying else "checkout.session.expired",
    )
    if paying:
        return redirect(url_for("billing.success", payment_id=payment.id), 303)
    return redirect(url_for("billing.index", checkout="cancelled"), 303)


@bp.post("/webhook")
@csrf.exempt
def webhook():
    outcome = perform(
        payment_events.receive_webhook, request.get_data(), request.headers.get("Stripe-Signature")
    )
    if not outcome.ok:
        return jsonify(error=outcome.message), 400
    return jsonify(received=True, outcome=outcome.value)


@bp.route("/admin/", defaults={"rest": ""}, methods=["GET", "POST"])
@bp.route("/admin/<path:rest>", methods=["GET", "POST"])
def moved_admin(rest):
    """Billing administration moved under /admin/billing/: its old addresses redirect there for good
    (308 keeps the method, so an old form still posts to the new address)."""
    query = request.query_string.decode()
    target = url_for("billing_admin.index") + rest + ("?" + query if query else "")
    return redirect(target, code=308)
