"""Round-robin assignment: a category's new unassigned tickets go to its opted-in agents in turn.

Who is eligible: an active agent granted the category explicitly (a category permission; an admin
too, when granted it), who opted in (accounts.availability) and is not marked away, and whom the
policy lets be assigned. The turn goes to the eligible agent with the next id after the last one
given a ticket, wrapping round: everyone eligible gets one before anyone gets a second, and an
agent back from being away simply takes their place in the circle again.

Safe under concurrent creations: the category's row in round_robin_categories is locked (SELECT
... FOR UPDATE on PostgreSQL) while a ticket takes its turn, so two tickets created at the same
moment read and move the pointer one after the other; SQLite writers are serialised by BEGIN
IMMEDIATE already.
"""

from sqlalchemy import bindparam, exists, func, select

from helpdesk import events, policy
from helpdesk.accounts import audit
from helpdesk.accounts.models import ACTIVE_AGENT, AUDIT_CATEGORY, AgentAvailability, CategoryPermission, User
from helpdesk.extensions import db
from helpdesk.tickets.models import RoundRobinCategory

ELIGIBLE = (
    select(User.id)
    .join(AgentAvailability, AgentAvailability.user_id == User.id)
    .where(
        ACTIVE_AGENT,
        AgentAvailability.round_robin.is_(True),
        AgentAvailability.away.is_(False),
        exists().where(
            CategoryPermission.user_id == User.id,
            CategoryPermission.category_id == bindparam("category_id"),
        ),
    )
    .order_by(User.id)
)


def enabled_categories(category_ids):
    """{category id: agents taking turns now} for those of `category_ids` that assign round-robin
    (two queries; the admin's categories page shows both)."""
    if not category_ids:
        return {}
    enabled = db.session.scalars(
        select(RoundRobinCategory.category_id).where(
            RoundRobinCategory.category_id.in_(category_ids), RoundRobinCategory.enabled.is_(True)
        )
    ).all()
    if not enabled:
        return {}
    rows = db.session.execute(
        select(CategoryPermission.category_id, func.count(User.id))
        .join(User, User.id == CategoryPermission.user_id)
        .join(AgentAvailability, AgentAvailability.user_id == User.id)
        .where(
            CategoryPermission.category_id.in_(enabled),
            ACTIVE_AGENT,
            AgentAvailability.round_robin.is_(True),
            AgentAvailability.away.is_(False),
        )
        .group_by(CategoryPermission.category_id)
    )
    counts = dict.fromkeys(enabled, 0)
    counts.update(dict(rows.all()))
    return counts


def set_enabled(actor, category, enabled):
    """Turn round-robin on or off for a category (an admin's choice, kept in the audit trail). The
    pointer is kept, so turning it back on continues the same circle."""
    row = db.session.get(RoundRobinCategory, category.id)
    if row is None:
        if not enabled:
            return False
        row = RoundRobinCategory(category_id=category.id, enabled=True)
        db.session.add(row)
    elif row.enabled == bool(enabled):
        return False
    else:
        row.enabled = bool(enabled)
    audit.record(
        actor,
        AUDIT_CATEGORY,
        category=category,
        old="round-robin " + ("off" if enabled else "on"),
        new="round-robin " + ("on" if enabled else "off"),
    )
    db.session.flush()
    return True


def eligible_agents(category_id):
    """Ids of the agents who take this category's next tickets, in the circle's order."""
    return db.session.scalars(ELIGIBLE, {"category_id": category_id}).all()


def assign_new_ticket(ticket, record_event):
    """Give a new unassigned ticket of a round-robin category to the next eligible agent, in the
    caller's (the creation's) transaction, and send `ticket_assigned` (actor None). Returns the
    agent, or None: the category does not assign round-robin, the ticket has an assignee, or
    nobody is eligible (then it stays unassigned and the pointer does not move)."""
    if ticket.assignee_id is not None:
        return None
    pointer = db.session.scalars(
        select(RoundRobinCategory)
        .where(RoundRobinCategory.category_id == ticket.category_id, RoundRobinCategory.enabled.is_(True))
        .with_for_update()
    ).one_or_none()
    if pointer is None:
        return None
    db.session.refresh(pointer)  # the pointer as the previous holder of the lock left it
    candidates = eligible_agents(ticket.category_id)
    last = pointer.last_user_id or 0
    ordered = [i for i in candidates if i > last] + [i for i in candidates if i <= last]
    for user_id in ordered:
        agent = db.session.get(User, user_id)
        if policy.can_be_assigned(agent, ticket):
            ticket.assignee = agent
            pointer.last_user_id = agent.id
            record_event(ticket, None, "assignee", None, agent.name)
            db.session.flush()
            events.ticket_assigned.send(
                ticket=ticket, assignee=agent, actor=None, reason="round-robin's turn"
            )
            return agent
    return None
