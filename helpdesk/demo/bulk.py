"""A large desk in bulk: customers in organizations, tickets by the hundred thousand with their
messages, notes, tags and charges, written with Core INSERTs in chunks.

Used by `flask seed-demo --tickets N` and by the benchmarks' data set (bench/dataset.py).

Guarantees (what the app itself would have written):
- every ticket's deadlines come from `sla.open_clocks` on its category's calendar; an answered
  ticket's first_response_at is its first public agent reply; resolved and closed tickets have
  resolved_at; a ticket waiting on its customer has its resolution clock paused;
- assignees are agents allowed in the ticket's category (its technicians, else the admins);
- a paid priority is charged like a submission: one ledger entry per ticket, the ticket's
  paid_credits equal to it, every bank's balance and running balances equal to its entries
  (each bank is first credited what its tickets cost, plus a remainder), so `flask credits
  verify` passes; paid tickets were answered and resolved on time (no guarantee refund is owed);
- each ticket's search documents are written once, after its messages, by the SQL of the
  database's own triggers (tickets/search_schema.py, documents_written_after).
"""

import random
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import exists, insert, select, text, update

from helpdesk.accounts.models import ACTIVE_AGENT, ROLE_ADMIN, CategoryPermission, Organization, User
from helpdesk.credits import ledger as credits
from helpdesk.credits.models import KIND_ADJUSTMENT, KIND_CHARGE, KIND_SIGNUP, CreditAccount, LedgerEntry
from helpdesk.credits.quotes import tariff
from helpdesk.dbtypes import utcnow
from helpdesk.demo import phrases
from helpdesk.demo import stories as stories_
from helpdesk.extensions import db
from helpdesk.rendering import stored_html
from helpdesk.tickets import search_schema, sla
from helpdesk.tickets.models import Category, Message, Priority, Ticket, TicketTag

CHUNK = 5_000  # rows per executemany
KEY_PREFIX = "bulk:"  # submission keys of bulk tickets: how a desk is known to hold them
STATUS_WEIGHTS = {"new": 4, "open": 9, "waiting": 5, "resolved": 22, "closed": 60}
CATEGORY_WEIGHTS = {"IT": 55, "Sales": 20, "Billing": 25}  # other categories: 10 each
PRIORITY_WEIGHTS = {"Low": 25, "Normal": 55, "High": 14, "Urgent": 6}  # others: 10 each
# Plans of the banks: organizations share one, individual customers have their own.
ORGANIZATION_PLANS = {"Business": 4, "Pay as you go": 6}
INDIVIDUAL_PLANS = {"Free": 6, "Pay as you go": 4}


def has_bulk_tickets():
    """Whether the desk already holds bulk tickets (from an earlier run)."""
    return bool(db.session.scalar(select(exists().where(Ticket.submission_key.like(f"{KEY_PREFIX}%")))))


def _insert(model, rows):
    table = model.__table__
    if "body" in table.c:
        _with_stored_html(rows)
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[start : start + CHUNK])


def _with_stored_html(rows):
    """Each row's body_html, as the app writes it with a body (tickets.models.stored_html_of):
    the stories repeat their texts, so each distinct text is rendered once."""
    rendered = {}
    for row in rows:
        html = rendered.get(row["body"])
        if html is None:
            html = rendered[row["body"]] = stored_html(row["body"])
        row["body_html"] = html


def _pick(rng, weights, names, others=10):
    """One of `names`, by `weights` (`others` for a name it lacks; equal chances if all are 0)."""
    names = list(names)
    chances = [weights.get(name, others) for name in names]
    return rng.choices(names, chances if any(chances) else None)[0]


def add_customers(count, organizations, *, rng, password_hash, in_organizations=0.6):
    """`organizations` new organizations (each with one manager) holding about `in_organizations`
    of `count` new customers; the rest are individuals. Organizations get a shared bank,
    individuals their own, on the plans above. Returns [(user id, organization id, bank id)]."""
    now = utcnow()
    taken = {name.lower() for name in db.session.scalars(select(Organization.name))}
    names, index = [], 0
    while len(names) < organizations:
        stem = phrases.COMPANY_STEMS[index % len(phrases.COMPANY_STEMS)]
        kind = phrases.COMPANY_KINDS[(index // len(phrases.COMPANY_STEMS)) % len(phrases.COMPANY_KINDS)]
        lap = index // (len(phrases.COMPANY_STEMS) * len(phrases.COMPANY_KINDS))
        name = f"{stem} {kind}" + (f" {lap + 1}" if lap else "")
        index += 1
        if name.lower() not in taken:
            names.append(name)
    _insert(Organization, [{"name": name, "created_at": now} for name in names])
    made = db.session.execute(select(Organization.id, Organization.name).where(Organization.name.in_(names)))
    domains = {oid: f"{name.lower().replace(' ', '-')}.example" for oid, name in made}
    org_ids = sorted(domains)
    first_user = db.session.scalar(select(db.func.max(User.id))) or 0
    rows, managed = [], set()
    for n in range(count):
        org = org_ids[n % len(org_ids)] if org_ids and rng.random() < in_organizations else None
        first, last = rng.choice(phrases.FIRST_NAMES), rng.choice(phrases.LAST_NAMES)
        domain = domains[org] if org else rng.choice(("example.com", "example.org", "example.net"))
        rows.append(
            {
                "email": f"{first}.{last}.{first_user + n + 1}@{domain}".lower(),
                "name": f"{first} {last}",
                "role": "customer",
                "password_hash": password_hash,
                "organization_id": org,
                "is_org_manager": org is not None and org not in managed,
                "timezone": rng.choice(phrases.TIMEZONES),
                "email_confirmed_at": now,  # bulk inserts skip User.__init__, which confirms
                "created_at": now,
            }
        )
        managed.add(org)
    _insert(User, rows)
    people = db.session.execute(
        select(User.id, User.organization_id)
        .where(User.id > first_user, User.role == "customer")
        .order_by(User.id)
    ).all()
    plans = {plan.name: plan for plan in credits.all_plans()}
    banks = [
        {"organization_id": oid, "plan_id": plans[_pick(rng, ORGANIZATION_PLANS, plans, 0)].id}
        for oid in org_ids
    ]
    banks += [
        {"user_id": p.id, "plan_id": plans[_pick(rng, INDIVIDUAL_PLANS, plans, 0)].id}
        for p in people
        if not p.organization_id
    ]
    for bank in banks:
        bank.update(created_at=now, balance=0)
        bank.setdefault("user_id", None)
        bank.setdefault("organization_id", None)
    _insert(CreditAccount, banks)
    by_owner = {}
    for bank_id, user_id, org_id in db.session.execute(
        select(CreditAccount.id, CreditAccount.user_id, CreditAccount.organization_id)
    ):
        by_owner[("user", user_id) if user_id else ("org", org_id)] = bank_id
    return [
        (p.id, p.organization_id, by_owner[("org", p.organization_id) if p.organization_id else ("user", p.id)])
        for p in people
    ]  # fmt: skip


def allowed_assignees():
    """{category id: [user ids]}: each category's active technicians, else the active admins."""
    admins = list(db.session.scalars(select(User.id).where(ACTIVE_AGENT, User.role == ROLE_ADMIN)))
    allowed = {category_id: [] for category_id in db.session.scalars(select(Category.id))}
    granted = (
        select(CategoryPermission.category_id, CategoryPermission.user_id).join(User).where(ACTIVE_AGENT)
    )
    for category_id, user_id in db.session.execute(granted.where(User.role != ROLE_ADMIN)):
        allowed[category_id].append(user_id)
    return {category_id: users or admins for category_id, users in allowed.items()}


def add_tickets(count, customers, *, rng, days=180, messages_per_ticket=3, note_share=0.2, tag_share=0.35):
    """`count` tickets of `customers` ([(user id, organization id, bank id)] from add_customers),
    opened over the last `days` days (open ones in the last three weeks), in realistic
    proportions of categories, priorities and statuses, each with `messages_per_ticket` public
    messages, an internal note on `note_share` of the answered ones and tags on `tag_share`.
    Returns a summary of what was written."""
    now = utcnow()
    categories = dict(
        db.session.execute(
            select(Category.name, Category.id).where(Category.archived.is_(False)).order_by(Category.id)
        ).all()
    )
    priorities = {p.id: p for p in db.session.scalars(select(Priority))}
    banks = {bank.id: bank for bank in db.session.scalars(select(CreditAccount))}
    assignees = allowed_assignees()
    specs = []
    for _ in range(count):
        user_id, org_id, bank_id = rng.choice(customers)
        plan = banks[bank_id].plan
        offered = {p.name: p for p in plan.priorities} or {p.name: p for p in priorities.values()}
        priority = offered[_pick(rng, PRIORITY_WEIGHTS, offered)]
        cost = tariff(plan, priority) if plan.credits_enabled else 0
        status = _pick(rng, STATUS_WEIGHTS, STATUS_WEIGHTS)
        age = {"new": rng.uniform(0.05, 1.5), "open": rng.uniform(0.5, 21), "waiting": rng.uniform(1, 21)}
        created = now - timedelta(days=age.get(status) or rng.uniform(2, days))
        category = _pick(rng, CATEGORY_WEIGHTS, categories)
        specs.append(
            (created, user_id, org_id, bank_id, categories[category], category, priority, cost, status)
        )
    specs.sort(key=lambda spec: spec[0])
    first_key = (db.session.scalar(select(db.func.count(Ticket.id))) or 0) + 1
    tickets, stories = [], []
    for n, (created, user_id, org_id, bank_id, category_id, category, priority, cost, status) in enumerate(
        specs
    ):
        clocks = SimpleNamespace(priority=priority, category_id=category_id, created_at=created,
                                 resolution_paused_at=None, resolution_paused_minutes=0)  # fmt: skip
        sla.open_clocks(clocks)
        times, agent_at, resolved = stories_.ticket_times(
            rng, status, created, clocks.due_at, clocks.resolution_due_at, cost > 0, now
        )
        assignee = None if status == "new" else rng.choice(assignees[category_id])
        if status == "waiting" and priority.resolution_minutes:
            clocks.resolution_paused_at, clocks.resolution_due_at, clocks.resolution_warn_at = (
                times[-1],
                None,
                None,
            )
        subject, body = stories_.ticket_text(rng, category, first_key + n)
        key = f"{KEY_PREFIX}{first_key + n}"
        tickets.append(
            {
                "subject": subject,
                "body": body,
                "requester_id": user_id,
                "organization_id": org_id,
                "category_id": category_id,
                "priority_id": priority.id,
                "status": status,
                "assignee_id": assignee,
                "created_at": created,
                "updated_at": resolved or times[-1],
                "first_response_at": None if agent_at is None else times[agent_at],
                "resolved_at": resolved,
                "due_at": clocks.due_at,
                "response_warn_at": clocks.response_warn_at,
                "resolution_due_at": clocks.resolution_due_at,
                "resolution_warn_at": clocks.resolution_warn_at,
                "resolution_paused_at": clocks.resolution_paused_at,
                "resolution_paused_minutes": 0,
                "paid_credits": cost,
                "submission_key": key,
                "version": 1,
            }
        )
        stories.append((key, user_id, bank_id, category, priority, cost, times, agent_at, assignee))
    first_id = (db.session.scalar(select(db.func.max(Ticket.id))) or 0) + 1
    with search_schema.documents_written_after(db.session.connection(), first_id):
        _insert(Ticket, tickets)
        ids = dict(
            db.session.execute(
                select(Ticket.submission_key, Ticket.id).where(Ticket.submission_key.like(f"{KEY_PREFIX}%"))
            ).all()
        )
        summary = _add_conversations(rng, stories, ids, messages_per_ticket, note_share, tag_share)
    summary["charges"] = _charge(rng, stories, ids, banks, now - timedelta(days=days + 1))
    summary["tickets"] = count
    return summary


def _add_conversations(rng, stories, ids, messages_per_ticket, note_share, tag_share):
    """Each ticket's messages, notes and tags (stories.conversation), inserted in chunks."""
    messages, notes, tags = [], 0, []
    for key, user_id, _bank, category, _priority, _cost, times, agent_at, assignee in stories:
        written = stories_.conversation(
            rng, ids[key], category, user_id, assignee, times, agent_at, messages_per_ticket, note_share
        )
        for sequence, row in enumerate(written, 1):  # Message.sequence, which a Core INSERT skips
            row["sequence"] = sequence
        messages += written
        notes += sum(m["internal"] for m in written)
        tags += stories_.tags(rng, ids[key], category, tag_share)
    _insert(Message, messages)
    _insert(TicketTag, tags)
    return {"messages": len(messages) - notes, "notes": notes, "tags": len(tags)}


def _charge(rng, stories, ids, banks, opened):
    """The paid priorities' charges, as submissions make them, each bank first given its plan's
    sign-up grant and credited what its tickets cost plus a remainder; returns how many."""
    charges = {}
    for key, user_id, bank_id, _category, priority, cost, times, _agent_at, _assignee in stories:
        if cost > 0:
            charges.setdefault(bank_id, []).append((key, user_id, priority, cost, times[0]))
    entries, balances = [], []
    for bank_id, bank_charges in charges.items():
        bank, balance = banks[bank_id], 0
        total = sum(charge[3] for charge in bank_charges)
        opening = [(KIND_SIGNUP, bank.plan.signup_grant, f"signup:{bank_id}", f"{bank.plan.name} plan")]
        topup = total + max(500, total // 2) + rng.randrange(0, 500, 10)
        opening.append(
            (KIND_ADJUSTMENT, topup, f"{KEY_PREFIX}credits:{bank_id}", "Demo: credits for the sample tickets")
        )
        for kind, amount, entry_key, memo in opening:
            if amount > 0:
                balance += amount
                entries.append({"account_id": bank_id, "amount": amount, "kind": kind, "balance_after": balance,
                                "idempotency_key": entry_key, "memo": memo, "created_at": opened})  # fmt: skip
        for key, user_id, priority, cost, at in bank_charges:
            balance -= cost
            entries.append(
                {"account_id": bank_id, "amount": -cost, "kind": KIND_CHARGE, "balance_after": balance,
                 "ticket_id": ids[key], "actor_id": user_id, "idempotency_key": f"submit:{user_id}:{key}",
                 "memo": f"{priority.name} priority for ticket #{ids[key]}", "created_at": at}
            )  # fmt: skip
        balances.append({"bank_id": bank_id, "balance": balance, "last_topup": topup})
    for entry in entries:  # executemany needs the same keys in every row
        entry.setdefault("ticket_id", None)
        entry.setdefault("actor_id", None)
    _insert(LedgerEntry, entries)
    table = CreditAccount.__table__
    statement = update(table).where(table.c.id == db.bindparam("bank_id"))
    db.session.execute(
        statement.values(balance=db.bindparam("balance"), last_topup=db.bindparam("last_topup")), balances
    )
    return sum(len(c) for c in charges.values())


def customers_for(tickets):
    """(customers, organizations) for a desk of `tickets`: about one customer per 30 tickets,
    between 40 and 3,000, about 20 to an organization."""
    customers = min(3_000, max(40, tickets // 30))
    return customers, max(2, customers // 20)


def add_desk(tickets, *, password_hash, seed=19):
    """A large desk on top of the demo: customers_for(tickets) customers (signing in with
    `password_hash`'s password) in organizations, then `tickets` tickets; statistics refreshed
    for the query planner. Returns a summary."""
    rng = random.Random(seed)
    customers, organizations = customers_for(tickets)
    people = add_customers(customers, organizations, rng=rng, password_hash=password_hash)
    summary = add_tickets(tickets, people, rng=rng)
    db.session.execute(text("ANALYZE"))
    return {"customers": customers, "organizations": organizations, **summary}
