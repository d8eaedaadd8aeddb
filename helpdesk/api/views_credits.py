"""/api/v1/credits: a bank's balance and statement, and what a priority would cost (read only:
credits move through the interface's services, a ticket's charge and an admin's adjustment)."""

from flask import abort, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.api import schemas
from helpdesk.api.answers import create, keyset_page
from helpdesk.api.blueprints import api
from helpdesk.api.routing import respond
from helpdesk.api.views_tickets import named
from helpdesk.credits import ledger
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits.models import CreditAccount, LedgerEntry
from helpdesk.extensions import db

READ, WRITE = ("credits", "read"), ("credits", "write")


def bank_out(account):
    return schemas.Bank(
        id=account.id,
        owner=account.owner_name,
        balance=account.balance,
        plan=named(account.plan),
        organization_id=account.organization_id,
        user_id=account.user_id,
        entries_url=url_for("api.list_entries", bank_id=account.id),
    )


def visible_bank(bank_id):
    account = db.session.get(CreditAccount, bank_id)
    if not policy.can_view_bank(current_user, account):
        abort(404)
    return account


@api.route(
    "/credits/bank", summary="Your bank", tag="credits", scope=READ, response=schemas.Bank, errors=(404,)
)
def my_bank():
    """The bank the token's owner spends from (their organization's shared bank if it has one);
    404 when they have none."""
    account = ledger.account_for(current_user)
    if account is None or not policy.can_view_bank(current_user, account):
        abort(404)
    return respond(bank_out(account))


@api.route(
    "/credits/banks/<int:bank_id>",
    summary="A bank",
    tag="credits",
    scope=READ,
    response=schemas.Bank,
    errors=(404,),
)
def get_bank(bank_id):
    """A bank its owner, its organization's members or an admin may see; 404 for anyone else."""
    return respond(bank_out(visible_bank(bank_id)))


@api.route(
    "/credits/banks/<int:bank_id>/entries",
    summary="A bank's statement",
    tag="credits",
    scope=READ,
    query=schemas.PageQuery,
    response=schemas.EntryList,
    errors=(404, 422),
)
def list_entries(bank_id, query):
    """The ledger's entries, newest first, each with the balance it left; `after` is the last
    entry id of the previous page."""
    account = visible_bank(bank_id)
    statement = ledger.statement_query(account)
    if query.after:
        statement = statement.where(LedgerEntry.id < query.after)
    items, following = keyset_page(statement, query, entry_out, "api.list_entries", bank_id=account.id)
    return respond(schemas.EntryList(items=items, next=following))


def entry_out(entry):
    return schemas.Entry(
        id=entry.id,
        amount=entry.amount,
        kind=entry.kind,
        balance_after=entry.balance_after,
        ticket_id=entry.ticket_id,
        memo=entry.memo or "",
        created_at=entry.created_at,
    )


@api.route(
    "/credits/banks/<int:bank_id>/adjustments",
    "POST",
    summary="Adjust a bank (admins)",
    tag="credits",
    scope=WRITE,
    body=schemas.Adjustment,
    response=schemas.EntryCreated,
    status=201,
    errors=(400, 404, 415, 422),
    request_headers={"Idempotency-Key": (False, "Retries with the same key and body get the first answer.")},
)
def adjust(bank_id, body):
    """A grant or a deduction with its reason, through the ledger's `adjust` (a deduction never
    takes the bank below its floor: 422); with an Idempotency-Key the same amount and reason book
    once, even after the kept answer is pruned (`created` is false then). Admins only, like the bank's admin page (404 for others)."""
    if not policy.can_manage_credits(current_user):
        abort(404)
    account = db.get_or_404(CreditAccount, bank_id)
    actor = current_user._get_current_object()

    def render(value):
        entry, created = value
        answer = schemas.EntryCreated(created=created, entry=entry_out(entry), balance=entry.balance_after)
        return answer, 201, url_for("api.list_entries", bank_id=account.id)

    # The Idempotency-Key's submission key goes into the ledger's key too: a retry after its kept
    # answer was pruned (`flask api prune-idempotency`) books nothing a second time.
    service = lambda key: ledger.adjust(account, body.amount, body.reason, actor, submission_key=key)  # noqa: E731
    return create(service, render, payload=body.model_dump())


@api.route(
    "/credits/quote",
    summary="What a priority costs",
    tag="credits",
    scope=READ,
    query=schemas.QuoteQuery,
    response=schemas.QuoteOut,
    errors=(404, 422),
)
def quote(query):
    """What opening a ticket at this priority would cost the token's owner now, from their plan's
    tariff, and what it would leave; 404 when their plan does not offer the priority."""
    found = credit_quotes.quote_for(current_user, query.priority_id, category_id=query.category_id)
    if found is None:
        abort(404)
    return respond(
        schemas.QuoteOut(
            priority=named(found.priority),
            cost=found.cost,
            balance=found.balance,
            balance_after=found.balance_after,
            shortfall=found.shortfall,
            available=found.available,
            due_at=found.due_at,
        )
    )
