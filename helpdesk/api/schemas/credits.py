"""Credit banks, their statements, adjustments and quotes."""

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from helpdesk.api.schemas.base import Created, Id, Input, Named, Output, Query


class QuoteQuery(Query):
    priority_id: Id
    category_id: Id | None = None


class Adjustment(Input):
    """An admin's grant (positive) or deduction (negative), with its reason, as on the bank's page."""

    amount: Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class Bank(Output):
    id: int
    owner: str
    balance: int
    plan: Named
    organization_id: int | None
    user_id: int | None
    entries_url: str


class Entry(Output):
    id: int
    amount: int
    kind: str
    balance_after: int
    ticket_id: int | None
    memo: str
    created_at: datetime


class EntryCreated(Created):
    entry: Entry
    balance: int


class EntryList(Output):
    items: list[Entry]
    next: str | None


class QuoteOut(Output):
    priority: Named
    cost: int
    balance: int
    balance_after: int
    shortfall: int
    available: bool
    due_at: datetime
