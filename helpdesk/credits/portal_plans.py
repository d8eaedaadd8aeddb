"""Customers' plan page: the self-service plans, what each includes, and the switch on confirmation."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from helpdesk.actions import perform
from helpdesk.credits import switching
from helpdesk.credits.blueprints import portal_bp as bp
from helpdesk.querying import row_id
from helpdesk.tickets import drafts


def _draft_args():
    """{"draft": id} when the customer came from their ticket draft (theirs, still kept), else {}."""
    draft = drafts.get_draft(current_user, request.args.get("draft", type=row_id))
    return {"draft": draft.id} if draft is not None else {}


def _done_message(result):
    """What the customer is told after a switch: the new plan, and that their credits stayed."""
    text = f"You are now on the {result.plan.name} plan."
    if result.old_plan is not None:
        text += f" Your balance stays {result.account.balance - result.granted:,} credits"
        text += f", plus {result.granted:,} to start." if result.granted else "."
    elif result.granted:
        text += f" {result.granted:,} credits to start."
    return text


@bp.get("/plan")
def plans():
    current, offers = switching.plan_offers(current_user)
    return render_template(
        "credits/portal/plans.html",
        current=current,
        offers=offers,
        refusal=switching.switch_refusal(current_user),
        switch_args=_draft_args(),
    )


@bp.get("/plan/<int:plan_id>")
def confirm_plan(plan_id):
    preview = switching.preview_switch(current_user, plan_id)
    if preview is None:
        abort(404)
    return render_template(
        "credits/portal/plan_confirm.html",
        preview=preview,
        refusal=switching.switch_refusal(current_user),
        form=FlaskForm(),
        switch_args=_draft_args(),
    )


@bp.post("/plan/<int:plan_id>")
def switch_plan(plan_id):
    back = _draft_args()
    if not FlaskForm().validate_on_submit():
        flash("That form expired. Choose the plan again.", "error")
        return redirect(url_for("credits_portal.plans", **back))
    outcome = perform(switching.switch_plan, current_user, plan_id)
    if isinstance(outcome.error, switching.AlreadyOnPlan) and back:
        # The switch was sent twice (a double click without JavaScript): the first did it, so the
        # second goes where the first went, back to the ticket draft, instead of a red refusal.
        flash(outcome.message, "info")
        return redirect(url_for("tickets_portal.new_ticket", **back))
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(url_for("credits_portal.plans", **back))
    flash(_done_message(outcome.value), "success")
    if back:  # they came from their ticket draft: back to it, priced on the new plan
        return redirect(url_for("tickets_portal.new_ticket", **back))
    return redirect(url_for("credits_portal.bank"))
