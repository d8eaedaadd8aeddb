"""Customer subscription pages: subscribing to a monthly plan, managing it on Stripe's customer
portal, and the demo provider's stand-ins for Stripe's subscription checkout and portal."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.billing import demo_provider, gateway, subscriptions
from helpdesk.billing.blueprints import bp
from helpdesk.billing.forms import DemoCheckoutForm, SubscribeForm
from helpdesk.billing.models import PROVIDER_DEMO, SUB_PENDING, PlanSubscription
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db


def subscription_return_urls():
    """Where Stripe sends the subscriber back after its checkout (done, or cancelled)."""
    return (
        url_for("billing.index", subscribed=1, _external=True),
        url_for("billing.index", checkout="cancelled", _external=True),
    )


@bp.post("/subscribe")
@login_required
def subscribe():
    form = SubscribeForm()
    if not form.validate_on_submit():
        flash("That subscription could not be started. Reload the page and try again.", "error")
        return redirect(url_for("billing.index"), 303)
    outcome = perform(
        subscriptions.start_subscription,
        current_user,
        int(form.plan_id.data),
        form.nonce.data,
        actor=current_user,
        return_urls=subscription_return_urls(),
    )
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for("billing.index"), 303)
    subscription = outcome.value
    if subscription.status != SUB_PENDING:
        return redirect(url_for("billing.index"), 303)
    if subscription.provider == PROVIDER_DEMO:
        return redirect(url_for("billing.demo_subscribe", subscription_id=subscription.id), 303)
    return redirect(subscription.checkout_url, 303)


@bp.post("/subscription/manage")
@login_required
def manage_subscription():
    """To Stripe's customer portal (card, invoices, cancelling), or the demo provider's page."""
    outcome = perform(
        subscriptions.portal_destination, current_user, url_for("billing.index", _external=True)
    )
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for("billing.index"), 303)
    subscription, url = outcome.value
    return redirect(url or url_for("billing.demo_portal", subscription_id=subscription.id), 303)


def _demo_subscription_or_404(subscription_id):
    subscription = db.session.get(PlanSubscription, subscription_id)
    if not policy.can_manage_subscription(current_user, subscription):
        abort(404)
    if subscription.provider != PROVIDER_DEMO or gateway.provider() != PROVIDER_DEMO:
        abort(404)
    return subscription


@bp.route("/demo-subscribe/<int:subscription_id>", methods=["GET", "POST"])
@login_required
def demo_subscribe(subscription_id):
    subscription = _demo_subscription_or_404(subscription_id)
    form = DemoCheckoutForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if subscription.status == SUB_PENDING:
            paying = request.form.get("action") == "subscribe"
            perform(demo_provider.subscription_checkout, subscription, paying, utcnow())
            if not paying:
                return redirect(url_for("billing.index", checkout="cancelled"), 303)
        return redirect(url_for("billing.index", subscribed=1), 303)
    amount, currency = demo_provider.subscription_price(subscription)
    return render_template(
        "billing/demo_subscribe.html", subscription=subscription, form=form, amount=amount, currency=currency
    )


DEMO_PORTAL_ACTIONS = {
    "renew": lambda s: demo_provider.subscription_renewal(s, True, utcnow()),
    "fail": lambda s: demo_provider.subscription_renewal(s, False, utcnow()),
    "cancel": demo_provider.subscription_cancelled,
}


@bp.route("/demo-portal/<int:subscription_id>", methods=["GET", "POST"])
@login_required
def demo_portal(subscription_id):
    subscription = _demo_subscription_or_404(subscription_id)
    form = DemoCheckoutForm()
    if request.method == "POST":
        action = DEMO_PORTAL_ACTIONS.get(request.form.get("action"))
        if not form.validate_on_submit() or action is None:
            abort(400)
        outcome = perform(action, subscription)
        flash("Done." if outcome.ok else outcome.message, "success" if outcome.ok else "error")
        return redirect(url_for("billing.demo_portal", subscription_id=subscription.id), 303)
    return render_template("billing/demo_portal.html", subscription=subscription, form=form)
