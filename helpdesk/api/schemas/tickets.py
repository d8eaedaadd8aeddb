"""Tickets and their messages: the queue's filters, creates, changes, and their answers."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from helpdesk.api.schemas.base import (
    Created,
    Email,
    Id,
    Input,
    Limit,
    Named,
    Output,
    Query,
    Tags,
    Text,
    Title,
)
from helpdesk.tickets.models import STATUSES

STATUS = Literal[STATUSES]  # the tickets domain's statuses, in its order


class TicketListQuery(Query):
    """The queue's filters and sort (the same names as the queue page's address)."""

    status: Literal[("active", "all", *STATUSES)] = "active"
    category: Id | None = None
    priority: Id | None = None
    assignee: Annotated[str, Field(pattern=r"^(anyone|me|unassigned|[1-9][0-9]{0,9})$")] = "anyone"
    overdue: bool = False
    risk: bool = False
    tag: Annotated[str, Field(max_length=50)] = ""
    q: Annotated[str, Field(max_length=200)] = ""
    sort: Literal["attention", "due", "priority", "updated"] = "attention"
    after: Annotated[str, Field(max_length=80)] = ""
    limit: Limit = 25


class TicketCreate(Input):
    """A new ticket. Agents open it for a customer (customer_email, and customer_name for a new
    one); a paid priority is charged to the customer's bank only with `consent`, as on the
    console's form."""

    subject: Title
    body: Text
    category_id: Id
    priority_id: Id
    customer_email: Email | None = None
    customer_name: Annotated[str, Field(max_length=200)] | None = None
    consent: bool = False


class TicketChange(Input):
    """The fields to change (each absent field stays as it is); `assignee_id: null` unassigns."""

    status: STATUS | None = None
    priority_id: Id | None = None
    category_id: Id | None = None
    assignee_id: Id | None = None
    tags: Tags | None = None


class MessageCreate(Input):
    """A reply (public) or an internal note (agents); with multipart, files go in `files`."""

    body: Text
    internal: bool = False


class TicketSummary(Output):
    id: int
    subject: str
    status: str
    requester: str
    organization: str | None
    category: str
    priority: str
    priority_id: int
    assignee: str | None = Field(description="Agents only: null for customers, as in the portal.")
    tags: list[str] | None = Field(description="Agents only: null for customers, as in the portal.")
    version: int
    due_at: datetime
    updated_at: datetime
    overdue: bool
    url: str


class TicketList(Output):
    items: list[TicketSummary]
    next: str | None = Field(description="The next page's address (absent on the last page).")


class Ticket(Output):
    id: int
    subject: str
    body: str
    status: str
    requester: Named
    organization: Named | None
    category: Named
    priority: Named
    assignee: Named | None = Field(description="Agents only: null for customers, as in the portal.")
    tags: list[str] | None = Field(description="Agents only: null for customers, as in the portal.")
    version: int = Field(description="Send it back in If-Match to change the ticket.")
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    first_response_at: datetime | None
    paid_credits: int | None = Field(
        description="Null for someone who only follows the ticket, as in the portal (what another customer paid)."
    )
    messages_url: str


class TicketCreated(Created):
    ticket: Ticket
    credits_charged: int


class AttachmentOut(Output):
    id: int
    filename: str
    content_type: str
    size: int
    url: str


class MessageOut(Output):
    id: int
    # The message's place in its ticket's feed, committed in that order: a message merged in from
    # a duplicate keeps its (older) id but gets the next sequence (`after_sequence`)
    sequence: int | None = Field(
        description="Where the message reached its ticket: the `after_sequence` cursor. Grows with"
        " each message written to the ticket or merged into it from a duplicate."
    )
    author: Named | None
    body: str
    internal: bool
    source: str
    created_at: datetime
    attachments: list[AttachmentOut]


class MessageList(Output):
    items: list[MessageOut]
    next: str | None


class MessageCreated(Created):
    message: MessageOut
