"""Customer credit pages: the bank and its statement (CSV too), live quotes, priority upgrades."""

from flask import (
    abort,
    flash,
    redirect,
    request,
    url_for,
)
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.billing import purchases as billing
from helpdesk.billing import subscriptions
from helpdesk.credits import alerts as credit_alerts
from helpdesk.credits import allowances as credit_allowances
from helpdesk.credits import ledger as credits
from helpdesk.credits import members
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits.blueprints import portal_bp as bp
from helpdesk.credits.forms import UpgradePriorityForm
from helpdesk.credits.panels import buy_credits_url, funding_for, plan_switch_url
from helpdesk.csvexport import csv_response
from helpdesk.extensions import db
from helpdesk.formfields import parse_id
from helpdesk.htmx import is_htmx, render_fragment, render_page_or_block
from helpdesk.querying import row_id
from helpdesk.tickets.models import Priority
from helpdesk.web import layout_count, paginate


def _quote_fragment(quote, **context):
    if not is_htmx():
        return None
    return render_fragment(
        "credits/portal/_quote.html",
        quote=quote,
        buy_url=buy_credits_url(),
        funding=funding_for(current_user),
        **context,
    )


@bp.get("/tickets/new/quote")
def new_ticket_quote():
    """The quote line for one priority (htmx); without htmx, the form with that priority chosen."""
    priority_id = request.args.get("priority", type=row_id)
    category_id = request.args.get("category", type=row_id)
    quote = credit_quotes.quote_for(current_user, priority_id, category_id=category_id)
    fragment = _quote_fragment(quote, draft_endpoint="tickets_portal.save_draft")  # inside the form
    return fragment or redirect(
        url_for("tickets_portal.new_ticket", priority=priority_id, category=category_id)
    )


@bp.get("/tickets/<int:ticket_id>/upgrade-quote")
def upgrade_quote(ticket_id):
    ticket = policy.get_ticket_or_404(current_user, ticket_id)
    if not policy.can_upgrade_priority(current_user, ticket):
        abort(404)  # the quote shows the requester's balance: not for followers
    priority_id = parse_id(request.args.get("priority"))
    quote = credit_quotes.upgrade_quote(ticket, priority_id, payer=current_user)
    fragment = _quote_fragment(quote, upgrade=True)
    return fragment or redirect(url_for("tickets_portal.ticket", ticket_id=ticket.id))


@bp.post("/tickets/<int:ticket_id>/priority")
def upgrade(ticket_id):
    ticket = policy.get_ticket_or_404(current_user, ticket_id)
    form = UpgradePriorityForm()
    form.priority.choices = [
        (p.id, p.name) for p in credit_quotes.offered_priorities(credits.plan_for(ticket.requester))
    ]
    if not form.validate_on_submit():
        flash("Choose a higher priority.", "error")
        return redirect(url_for("tickets_portal.ticket", ticket_id=ticket.id))
    priority = db.session.get(Priority, form.priority.data)
    outcome = perform(credit_quotes.upgrade_priority, ticket, priority, current_user)
    if not outcome.ok:
        flash(outcome.message, "error")
    else:
        flash(
            f"Priority raised to {ticket.priority.name} ({outcome.value.cost:,} credits charged).", "success"
        )
    return redirect(url_for("tickets_portal.ticket", ticket_id=ticket.id))


@bp.get("/credits")
def bank():
    account = credits.account_for(current_user)
    page, linkable, spent_by = None, set(), None
    if account is not None:
        query = credits.statement_query(account)
        page = paginate(query)
        linkable = policy.visible_ticket_ids(current_user, [e.ticket_id for e in page.items])
        if account.organization_id:  # a shared bank: who spent each charge
            spent_by = members.spenders(page.items)
    return render_page_or_block(
        "credits/portal/credits.html",
        "statement",
        account=account,
        plan=account.plan if account else credits.default_plan(),
        next_allowance=credit_allowances.next_allowance_date(account),
        # A bank paid by a subscription takes its allowance with each renewal instead.
        subscription=subscriptions.current_subscription(account)
        if account is not None and account.allowance_invoiced
        else None,
        low_alert=credit_alerts.current_low_alert(account),
        page=page,
        linkable_tickets=linkable,
        spent_by=spent_by,
        # A member's own bank with credits, which the shared bank pays instead of: shown, not hidden.
        own_bank=credits.hidden_own_bank(current_user)
        if account is not None and account.organization_id
        else None,
        buy_url=buy_credits_url(),
        can_buy=billing.purchase_target(current_user).refusal is None,
        switch_url=plan_switch_url(current_user),
    )


CSV_COLUMNS = ("date_utc", "kind", "amount", "balance_after", "ticket", "memo", "by", "spent_by")


@bp.get("/credits/statement.csv")
def statement_csv():
    account = credits.account_for(current_user)
    if account is None or not policy.can_view_bank(current_user, account):
        return redirect(url_for("credits_portal.bank"))
    return csv_response(f"credit-statement-{account.id}.csv", CSV_COLUMNS, _statement_rows(account))


def _statement_rows(account, batch=500):
    """The CSV rows, a batch of entries at a time (who spent each is looked up per batch)."""
    entries = db.session.scalars(credits.statement_query(account)).all()
    for start in range(0, len(entries), batch):
        chunk = entries[start : start + batch]
        spent_by = members.spenders(chunk)
        for e in chunk:
            who = spent_by.get(e.id)
            yield (
                e.created_at,
                e.kind,
                e.amount,
                e.balance_after,
                e.ticket_id or "",
                e.memo,
                e.actor.name if e.actor else "",
                who.name if who is not None else "",
            )


def portal_nav(user):
    return [("Credits", "credits_portal.bank")] if user.is_customer else []


BANK_LOW_STAGE = "bank_low_stage"  # the layout count registered in credits/__init__.py


def low_balance_banner(user):
    """A customer whose bank is low sees why and where to top up. Whether it is low comes with the
    layout's other counts (bank_low_stage: no query of its own on the pages of a bank that is not
    low, nearly every page); only a low bank's latest alert is read."""
    if not user.is_customer or not layout_count(BANK_LOW_STAGE):
        return []
    account = credits.account_for(user)
    alert = credit_alerts.current_low_alert(account)
    if alert is None:
        return []
    return [
        {
            "level": "warning",
            "text": f"{alert.text} Paid priorities need credits: top up to keep them available.",
            "link": buy_credits_url(),
            "link_text": "Buy credits",
        }
    ]
