"""/api/v1/tickets: the queue's list, a ticket, a new ticket, and changes guarded by If-Match."""

from flask import abort, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.api import changes, schemas
from helpdesk.api.answers import create, etag, if_match_version, page_url, run, sent_fields
from helpdesk.api.blueprints import api
from helpdesk.api.problems import ApiProblem
from helpdesk.api.routing import respond
from helpdesk.tickets import editing, queue
from helpdesk.web import url_prefix

READ, WRITE = ("tickets", "read"), ("tickets", "write")


def named(item):
    return None if item is None else schemas.Named(id=item.id, name=item.name)


def ticket_out(ticket):
    agent = policy.is_agent(current_user)  # the portal shows customers neither tags nor assignee
    return schemas.Ticket(
        id=ticket.id,
        subject=ticket.subject,
        body=ticket.body,
        status=ticket.status,
        requester=named(ticket.requester),
        organization=named(ticket.organization),
        category=named(ticket.category),
        priority=named(ticket.priority),
        assignee=named(ticket.assignee) if agent else None,
        tags=sorted(ticket.tag_names) if agent else None,
        version=ticket.version,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        due_at=ticket.due_at,
        first_response_at=ticket.first_response_at,
        # what the requester paid: not for someone who only follows it (the portal's credits panel)
        paid_credits=ticket.paid_credits if policy.can_see_ticket_charges(current_user, ticket) else None,
        messages_url=url_for("api.list_messages", ticket_id=ticket.id),
    )


def visible_ticket(ticket_id):
    """The ticket if the token's owner may see it; 404 otherwise, whether it exists or not."""
    ticket = editing.load_ticket(ticket_id)
    if not policy.can_view_ticket(current_user, ticket):
        abort(404)
    return ticket


def _filters(query):
    return queue.QueueFilters(
        status=query.status,
        category_id=query.category,
        priority_id=query.priority,
        assignee=query.assignee,
        overdue=query.overdue,
        at_risk=query.risk,
        tag=query.tag.strip().lower(),
        q=query.q.strip(),
        sort=query.sort,
        after=query.after,
    )


def _summary(row, agent, ticket_urls):
    """A row of the list; `ticket_urls` is the tickets' URL up to the id (web.url_prefix: one
    url_for per page, not one per row)."""
    values = {name: getattr(row, name) for name in schemas.TicketSummary.model_fields if name != "url"}
    if not agent:  # the portal shows customers neither tags nor assignee
        values.update(tags=None, assignee=None)
    return schemas.TicketSummary(**values, url=f"{ticket_urls}{row.id}")


AGENT_FILTERS = {
    "q": "Searching the text of tickets is for agents (it reaches internal notes).",
    "tag": "Tags are the agents' labels: filter by status, category or priority.",
    "assignee": "Assignees are the agents' business: filter by status, category or priority.",
}


@api.route(
    "/tickets",
    summary="List tickets",
    tag="tickets",
    scope=READ,
    query=schemas.TicketListQuery,
    response=schemas.TicketList,
    errors=(422,),
)
def list_tickets(query):
    """The tickets the token's owner may see, with the agent queue's filters and sorts (the same
    query code), a page at a time: follow `next` (a keyset cursor) until it is null."""
    agent = policy.is_agent(current_user)
    defaults = schemas.TicketListQuery()
    refused = [n for n in AGENT_FILTERS if not agent and getattr(query, n) != getattr(defaults, n)]
    if refused:
        errors = [{"field": f"query.{name}", "message": AGENT_FILTERS[name]} for name in refused]
        raise ApiProblem(422, "Some filters are for agents only: see errors.", errors=errors)
    if query.after and queue.decode_cursor(query.sort, query.after) is None:
        message = "Not a cursor of this sort: use the `next` link of the previous page."
        raise ApiProblem(422, message, errors=[{"field": "query.after", "message": message}])
    page = queue.queue_page(current_user, _filters(query), query.limit)
    args = query.model_dump(exclude={"after"}, exclude_defaults=True)
    following = page_url("api.list_tickets", page.next_cursor, **args) if page.next_cursor else None
    ticket_urls = url_prefix("api.get_ticket", "ticket_id")
    items = [_summary(row, agent, ticket_urls) for row in page.rows]
    return respond(schemas.TicketList(items=items, next=following))


@api.route(
    "/tickets/<int:ticket_id>",
    summary="Read a ticket",
    tag="tickets",
    scope=READ,
    response=schemas.Ticket,
    errors=(404,),
    headers={"ETag": "The ticket's version, for If-Match."},
)
def get_ticket(ticket_id):
    """One ticket; 404 when the token's owner may not see it (exactly as its page answers)."""
    ticket = visible_ticket(ticket_id)
    return respond(ticket_out(ticket), headers={"ETag": etag(ticket.version)})


@api.route(
    "/tickets",
    "POST",
    summary="Open a ticket",
    tag="tickets",
    scope=WRITE,
    body=schemas.TicketCreate,
    response=schemas.TicketCreated,
    status=201,
    errors=(400, 403, 415, 422),
    headers={"Location": "The new ticket's address."},
    request_headers={"Idempotency-Key": (False, "Retries with the same key and body get the first answer.")},
)
def create_ticket(body):
    """A customer opens a ticket (a paid priority is charged to their bank, as in the portal); an
    agent opens one for a customer, charging a paid priority only with `consent`."""
    actor = current_user._get_current_object()

    def render(value):
        ticket, created, charged = value
        answer = schemas.TicketCreated(
            created=created, ticket=ticket_out(ticket), credits_charged=charged if created else 0
        )
        return answer, 201, url_for("api.get_ticket", ticket_id=ticket.id)

    def visible(answer):  # a kept answer's ticket, still the actor's to see
        return policy.can_view_ticket(actor, editing.load_ticket(answer["ticket"]["id"]))

    return create(
        lambda key: changes.open_ticket(actor, body, key), render, payload=body.model_dump(), visible=visible
    )


@api.route(
    "/tickets/<int:ticket_id>",
    "PATCH",
    summary="Change a ticket",
    tag="tickets",
    scope=WRITE,
    body=schemas.TicketChange,
    response=schemas.Ticket,
    errors=(400, 403, 404, 409, 412, 415, 422, 428),
    headers={"ETag": "The ticket's new version."},
    request_headers={"If-Match": (True, "The ETag of the ticket as last read (412 when stale).")},
)
def change_ticket(ticket_id, body):
    """Status, priority, category, assignee and tags, through the console's services, as one
    change guarded by If-Match: a stale version changes nothing (412)."""
    ticket = visible_ticket(ticket_id)
    seen = if_match_version(ticket.version)
    fields = sent_fields(body, nullable=("assignee_id",))
    run(changes.change_ticket, ticket, current_user._get_current_object(), fields, seen)
    ticket = visible_ticket(ticket_id)
    return respond(ticket_out(ticket), headers={"ETag": etag(ticket.version)})
