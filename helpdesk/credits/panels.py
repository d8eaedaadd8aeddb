"""What the credits domain shows on other domains' pages (the portal's ticket page, banners)."""

from flask import url_for

from helpdesk import policy
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits.forms import UpgradePriorityForm


def buy_credits_url():
    """Where a customer buys credits (the billing page)."""
    return url_for("billing.index")


def ticket_credit_context(user, ticket):
    """What the ticket page shows about credits: net paid, its entries, and upgrade quotes."""
    paid = credit_quotes.net_paid(ticket)
    context = {"paid": paid, "entries": credit_quotes.ticket_entries(ticket), "upgrades": [], "form": None}
    if policy.can_upgrade_priority(user, ticket):
        context["upgrades"] = credit_quotes.upgrade_quotes(ticket, paid=paid)
        context["form"] = UpgradePriorityForm(formdata=None)
        context["buy_url"] = buy_credits_url()
    return context
