"""Options for the queue's filter and bulk controls: categories, priorities and agents in one query."""

from dataclasses import dataclass

from sqlalchemy import bindparam, case, literal_column, select, union_all

from helpdesk import policy
from helpdesk.accounts.models import ACTIVE_AGENT, AgentAvailability, User
from helpdesk.querying import column_rows
from helpdesk.tickets import ticket_reads
from helpdesk.tickets.models import Category, Priority


@dataclass(frozen=True)
class Choice:
    id: int
    name: str
    archived: bool = False  # a category no new ticket goes to: filtered on, never moved to


def _choices_query(restricted):
    categories = select(  # archived ones too: their tickets stay, and may be looked for
        literal_column("'c'").label("kind"),
        Category.id,
        Category.name,
        literal_column("0").label("position"),
        case((Category.archived, 1), else_=0).label("archived"),
    )
    if restricted:  # a technician's grants, read by the same query
        categories = categories.where(Category.id.in_(policy.granted_categories(bindparam("viewer_id"))))
    priorities = select(
        literal_column("'p'"), Priority.id, Priority.name, -Priority.sort_order, literal_column("0")
    )
    agents = (
        select(
            literal_column("'a'"),
            User.id,
            ticket_reads.agent_label(),
            literal_column("0"),
            literal_column("0"),
        )
        .outerjoin(AgentAvailability, AgentAvailability.user_id == User.id)
        .where(ACTIVE_AGENT)
    )
    union = union_all(categories, priorities, agents).subquery()
    return select(union).order_by(union.c.kind, union.c.position, union.c.name)


CHOICES_ALL = _choices_query(restricted=False)  # built once; the queue asks on every page
CHOICES_PERMITTED = _choices_query(restricted=True)


def filter_choices(actor):
    """Options for the queue's filter and bulk controls, in one query: the categories the actor
    sees (by name; archived ones too, `archived` set: the bulk bar moves tickets to the others
    only), the priorities (most urgent first) and the active agents (by name)."""
    if policy.is_admin(actor):
        rows = column_rows(CHOICES_ALL)
    else:  # a technician: the categories granted to them (policy.permitted_category_ids)
        rows = column_rows(CHOICES_PERMITTED, {"viewer_id": actor.id})
    found = {"c": [], "p": [], "a": []}
    for row in rows:
        found[row.kind].append(Choice(row.id, row.name, bool(row.archived)))
    return {"categories": found["c"], "priorities": found["p"], "agents": found["a"]}


def assign_choices(agents, categories_on_page):
    """The bulk "Assign to" agents for a page whose tickets are in `categories_on_page`: those
    allowed (policy.assignable_categories) in at least one of them, each with `categories`, the
    ones of the page they may take ("*" for all), so the browser narrows the list to the rows
    selected. The server still refuses an agent not allowed in every selected ticket's category."""
    if not categories_on_page:
        return []
    allowed = policy.assignable_categories(categories_on_page)
    options = []
    for agent in agents:
        grants = allowed.get(agent.id, set())
        if grants is None:
            options.append({"id": agent.id, "name": agent.name, "categories": "*"})
        elif grants:
            shared = " ".join(str(c) for c in sorted(grants))
            options.append({"id": agent.id, "name": agent.name, "categories": shared})
    return options
