"""What the credits domain shows on other domains' pages (the portal's and the agents' ticket
pages, banners)."""

from flask import current_app, url_for

from helpdesk import policy
from helpdesk.credits import ledger as credits
from helpdesk.credits import panel_reads, switching
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits.forms import UpgradePriorityForm
from helpdesk.credits.models import BILLING_TIME
from helpdesk.formfields import form_state
from helpdesk.tickets.forms import new_submission_key
from helpdesk.web import paginate


def buy_credits_url():
    """Where a customer buys credits (the billing page)."""
    return url_for("billing.index")


def plan_switch_url(user):
    """The plan page, for a customer who may switch plans themselves; None for anyone else."""
    return url_for("credits_portal.plans") if switching.switch_refusal(user) is None else None


def funding_for(user):
    """How `user` gets credits beside a quote: "ask" (a member who may not buy for their
    organization's shared bank asks a manager) or "buy"."""
    return "ask" if policy.can_ask_for_credits(user, credits.account_for(user)) else "buy"


def ticket_credit_context(user, ticket, page=1):
    """What the ticket page shows about credits: net paid, page `page` of its charges and refunds
    (newest first; `total`: all of them, net), and upgrade quotes; None for a viewer who may not
    see what was paid (a subscriber: policy.can_see_ticket_charges)."""
    if not policy.can_see_ticket_charges(user, ticket):
        return None
    paid = credit_quotes.net_paid(ticket)
    context = {
        "paid": paid,
        "total": credit_quotes.credits_spent_by_ticket([ticket.id]).get(ticket.id, 0),  # all its charges
        "entries": paginate(credit_quotes.ticket_charges_query(ticket), page=page),
        "upgrades": [],
        "upgrade_refusal": None,
        "form": None,
    }
    if policy.can_upgrade_priority(user, ticket):
        context["upgrades"] = credit_quotes.upgrade_quotes(ticket, paid=paid, payer=user)
        refusal = credit_quotes.shared_bank_refusal(user, credit_quotes.ticket_account(ticket))
        if refusal:  # a former member: not from the organization's credits
            context["upgrades"] = [q for q in context["upgrades"] if q.cost == 0]
            context["upgrade_refusal"] = refusal
        context["form"] = UpgradePriorityForm(formdata=None)
        context["buy_url"] = buy_credits_url()
        context["funding"] = funding_for(user)
    return context


def pack_uses(plan, packs):
    """What each pack pays for: (the plan priced on, {pack id: [(priority or None, count)]}).

    Priced on `plan`, or, when it has no credits, on the first self-service plan with credits (the
    plan a switch would offer). Per-ticket plans: how many tickets of each paid priority; time
    plans: (None, minutes of agent time). No plan with credits: (None, {}).
    """
    if plan is None or not plan.credits_enabled:
        plan = next((p for p in credits.self_service_plans() if p.credits_enabled), None)
    if plan is None:
        return None, {}
    if plan.billing_mode == BILLING_TIME:
        return plan, {pack.id: [(None, pack.credits // plan.minute_rate)] for pack in packs}
    paid = [(p, credit_quotes.tariff(plan, p)) for p in plan.priorities]
    paid = [(p, price) for p, price in paid if price > 0]
    return plan, {pack.id: [(p, pack.credits // price) for p, price in paid] for pack in packs}


def switch_offer(user, plan):
    """For a customer whose plan has no credits and who may switch: the plan page's address and
    the self-service plans with credits. None otherwise."""
    url = plan_switch_url(user)
    if url is None or plan is None or plan.credits_enabled:
        return None
    names = [p.name for p in credits.self_service_plans() if p.credits_enabled]
    return {"url": url, "plans": names} if names else None


def asked_message(result):
    """What a member is told once their request for credits went to the managers (or had gone)."""
    names = ", ".join(m.name for m in result.managers)
    more = " more" if result.request.reason == "cap" else ""
    if not result.sent:
        return f"You already asked for this: {names} {'has' if len(result.managers) == 1 else 'have'} your request."
    return f"Your request for {result.request.amount:,}{more} credits was sent to {names}."


def agent_panel(
    user,
    ticket,
    form=None,
    error=None,
    timer_form=None,
    other_timers=(),
    notice=None,
    stopping=None,
    editing=None,
    page=1,
):
    """What the agents' credit panel shows (`credits/agent/_panel.html`, in the ticket page's
    sidebar), as plain values: priority paid, credits spent, the bank and its low-balance alert,
    time entries (`changeable`: the ids of those `user` may edit or delete), the time form (`form`
    after a refused post) and the running timer's stop form (`timer_form` after a refused stop;
    `stopping`: the entry id when it was the stop form of a colleague's timer, an admin's), and
    what a change just did (`notice`: what it charged or gave back) or why it was refused;
    `editing`: {"entry_id", "minutes", "note"} as an entry's refused edit form was sent.
    The time entries come a page at a time (`page`, newest first); the time charged and the
    running timer are over all of them."""
    per_page = current_app.config["PER_PAGE"]
    credits = panel_reads.ticket_credits(ticket.id, user.id, page=page, per_page=per_page)
    return dict(
        priority=credits.priority,
        account=credits.bank,
        paid=credits.paid,
        time_billed=credits.time_billed,
        total_minutes=credits.total_minutes,
        entries=credits.entries,
        changeable=tuple(
            e.id for e in credits.entries.items if policy.can_change_time_entry(user, e, ticket)
        ),
        low_alert=credits.low_alert,
        bills_time=credits.bills_time,
        timer=credits.timer,
        time_form=form_state(form, minutes="", note=""),
        timer_form=form_state(timer_form, minutes="", note=""),
        stopping=stopping,
        viewer_id=user.id,
        can_log=policy.can_log_time(user, ticket),
        error=error,
        notice=notice,
        other_timers=list(other_timers),  # just started: the tickets where the agent's timer also runs
        editing=editing or {},
    )


def key_time_form(panel):
    """The panel about to be rendered, its "Log time" form given a new submission key unless it
    comes back refused with the one it was sent with. Done at rendering, after a page's ETag
    fingerprinted the panel: a new key in it would make every ETag new."""
    data = panel["time_form"]["data"]
    if not data.get("submission_key"):
        data["submission_key"] = new_submission_key()
    return panel
