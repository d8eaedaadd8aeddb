"""The shapes the API accepts and answers, as pydantic models: they parse requests (422 with field
errors), serialise answers, and are the OpenAPI document's schemas (JSON Schema 2020-12, the
dialect of OpenAPI 3.1)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from helpdesk.accounts.models import ROLE_CUSTOMER, ROLES
from helpdesk.kb.models import STATUSES as ARTICLE_STATUSES
from helpdesk.kb.models import VISIBILITIES, VISIBILITY_CUSTOMERS
from helpdesk.tickets.models import STATUSES

Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Field(ge=1, le=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50000)]
STATUS = Literal[STATUSES]  # the tickets domain's statuses, in its order


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Output(BaseModel):
    pass


# --- requests ---------------------------------------------------------------------------------


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


class PageQuery(Query):
    after: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    limit: Limit = 25


class QuoteQuery(Query):
    priority_id: Id
    category_id: Id | None = None


class TicketCreate(Input):
    """A new ticket. Agents open it for a customer (customer_email, and customer_name for a new
    one); a paid priority is charged to the customer's bank only with `consent`, as on the
    console's form."""

    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    body: Text
    category_id: Id
    priority_id: Id
    customer_email: Annotated[str, Field(max_length=320)] | None = None
    customer_name: Annotated[str, Field(max_length=200)] | None = None
    consent: bool = False


class TicketChange(Input):
    """The fields to change (each absent field stays as it is); `assignee_id: null` unassigns."""

    status: STATUS | None = None
    priority_id: Id | None = None
    category_id: Id | None = None
    assignee_id: Id | None = None
    tags: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=20)] | None = None


class MessageCreate(Input):
    """A reply (public) or an internal note (agents); with multipart, files go in `files`."""

    body: Text
    internal: bool = False


class Adjustment(Input):
    """An admin's grant (positive) or deduction (negative), with its reason, as on the bank's page."""

    amount: Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class ArticleCreate(Input):
    """A new article in a category the token's owner writes for (its technicians, admins): a
    draft unless `publish`."""

    category_id: Id
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    body: Text
    visibility: Literal[VISIBILITIES] = VISIBILITY_CUSTOMERS
    tags: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=20)] = []
    publish: bool = False


class ArticleChange(Input):
    """The fields to change (each absent field stays as it is), saved as one revision like the
    editor's Save; the status changes through /status."""

    category_id: Id | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = (
        None
    )
    body: Text | None = None
    visibility: Literal[VISIBILITIES] | None = None
    tags: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=20)] | None = None


class ArticleStatus(Input):
    """Publish, archive, or move back to draft (the editor's buttons)."""

    status: Literal[ARTICLE_STATUSES]


Email = Annotated[EmailStr, Field(max_length=320)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class UserCreate(Input):
    """A new account. Without `password` it has none yet: its owner sets one through "Forgot
    your password?". `over_seat_limit` confirms an agent past AGENT_SEAT_LIMIT (the admin
    page's confirmation step)."""

    email: Email
    name: Name
    role: Literal[ROLES] = ROLE_CUSTOMER
    password: Annotated[str, Field(max_length=200)] | None = None
    organization_id: Id | None = None
    over_seat_limit: bool = False


class UserChange(Input):
    """The fields to change (each absent field stays as it is); `organization_id: null` takes a
    customer out of their organization. `move` confirms moving a customer out of another
    organization, `over_seat_limit` an agent past the seat limit (the admin pages' steps)."""

    name: Name | None = None
    email: Email | None = None
    role: Literal[ROLES] | None = None
    active: bool | None = None
    organization_id: Id | None = None
    is_org_manager: bool | None = None
    over_seat_limit: bool = False
    move: bool = False


class OrganizationIn(Input):
    """An organization's name (unique, ignoring case and spacing)."""

    name: Name


class PermissionsChange(Input):
    """Exactly the categories a technician works from now on (every other grant is revoked)."""

    category_ids: Annotated[list[Id], Field(max_length=500)]


# --- answers ----------------------------------------------------------------------------------


class Named(Output):
    id: int
    name: str


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
    paid_credits: int
    messages_url: str


class Created(Output):
    """A create's answer: what was made, and whether this request made it (false: a twin did)."""

    created: bool


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


class UserOut(Output):
    id: int
    name: str
    email: str
    role: str
    active: bool
    organization: Named | None
    is_org_manager: bool


class UserList(Output):
    items: list[UserOut]
    next: str | None


class OrganizationList(Output):
    items: list[Named]
    next: str | None


class UserCreated(Created):
    user: UserOut


class OrganizationCreated(Created):
    organization: Named


class Permissions(Output):
    user_id: int
    categories: list[Named]


class ArticleSummary(Output):
    id: int
    title: str
    slug: str
    category: Named | None
    visibility: str
    updated_at: datetime | None
    url: str


class ArticleList(Output):
    items: list[ArticleSummary]
    next: str | None


class Article(ArticleSummary):
    body: str
    status: str
    tags: list[str]
    version: int = Field(description="Send it back in If-Match to change the article.")


class ArticleCreated(Created):
    article: Article


class Problem(Output):
    """application/problem+json (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[dict[str, str]] | None = None
