"""Customer pages of automatic top-ups: the rule and its saved card, the pay link of a top-up the
card refused, and the demo provider's stand-in for Stripe's card setup page."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.billing import demo_provider, gateway, purchases, topups
from helpdesk.billing.blueprints import bp
from helpdesk.billing.forms import DemoCheckoutForm
from helpdesk.billing.models import PROVIDER_DEMO, AutoTopUp
from helpdesk.billing.portal import billing_page, checkout_location, return_urls, top_up_form
from helpdesk.extensions import db


def card_return_urls():
    done = url_for("billing.index", card="saved", _external=True)
    return done, url_for("billing.index", checkout="cancelled", _external=True)


def _save_and_maybe_set_up_card(form, wants_card):
    rule = topups.save_rule(
        current_user,
        threshold=form.threshold.data,
        pack_id=form.pack_id.data,
        enabled=form.enabled.data,
        actor=current_user,
    )
    if wants_card or not topups.card_usable(rule):
        rule = topups.start_card_setup(
            current_user, form.nonce.data, actor=current_user, return_urls=card_return_urls()
        )
    return rule


@bp.post("/top-up")
@login_required
def save_top_up():
    form = top_up_form(formdata=request.form)
    if not form.validate_on_submit():  # the page again, the fields as typed and their messages
        return billing_page(refused_top_up=form, status=422)
    outcome = perform(_save_and_maybe_set_up_card, form, request.form.get("action") == "card")
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for("billing.index"), 303)
    rule = outcome.value
    if topups.card_usable(rule) and request.form.get("action") != "card":
        flash("Automatic top-up saved.", "success")
        return redirect(url_for("billing.index"), 303)
    if rule.provider == PROVIDER_DEMO:
        return redirect(url_for("billing.demo_card", rule_id=rule.id), 303)
    return redirect(rule.setup_url, 303)


@bp.get("/top-ups/<int:payment_id>/pay")
@login_required
def top_up_pay(payment_id):
    """The link in the mail about a refused top-up: buy the same pack by hand, through Checkout."""
    payment = policy.get_payment_or_404(current_user, payment_id)
    if not payment.is_top_up:
        abort(404)
    outcome = perform(
        purchases.start_checkout,
        current_user,
        payment.pack_id,
        f"top-up-by-hand:{payment.id}:{current_user.id}",
        actor=current_user,
        return_urls=return_urls(),
    )
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for("billing.index"), 303)
    return redirect(checkout_location(outcome.value), 303)


@bp.route("/demo-card/<int:rule_id>", methods=["GET", "POST"])
@login_required
def demo_card(rule_id):
    """The demo provider's card setup page: save a card that pays, needs authentication or is declined."""
    rule = db.session.get(AutoTopUp, rule_id)
    if rule is None or not policy.can_buy_for_bank(current_user, rule.account):
        abort(404)
    if rule.provider != PROVIDER_DEMO or gateway.provider() != PROVIDER_DEMO:
        abort(404)
    form = DemoCheckoutForm()
    if request.method == "POST":
        card = request.form.get("card")
        if not form.validate_on_submit() or card not in demo_provider.DEMO_CARDS:
            abort(400)
        perform(demo_provider.card_saved, rule, card)
        return redirect(url_for("billing.index", card="saved"), 303)
    return render_template("billing/demo_card.html", rule=rule, form=form, cards=DEMO_CARD_LABELS)


DEMO_CARD_LABELS = (
    ("demo_pm_ok", "Save a test card that pays"),
    ("demo_pm_authentication", "Save a test card whose bank asks for authentication"),
    ("demo_pm_declined", "Save a test card that is declined"),
)
