"""Demo data: idempotent, safe to run on every `make run`."""

import random
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from helpdesk.accounts.auth import hash_password
from helpdesk.accounts.models import (
    ROLE_ADMIN,
    ROLE_CUSTOMER,
    ROLE_TECHNICIAN,
    CategoryPermission,
    Organization,
    User,
)
from helpdesk.billing.models import CreditPack, PlanPrice
from helpdesk.credits import allowances as credit_allowances
from helpdesk.credits import ledger as credits
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits import time_entries
from helpdesk.credits.models import (
    BILLING_TIME,
    KIND_ADJUSTMENT,
    LedgerEntry,
    LowBalanceThreshold,
    ServicePlan,
)
from helpdesk.dbtypes import utcnow
from helpdesk.demo.knowledge import seed_knowledge_base
from helpdesk.extensions import db
from helpdesk.replies.demo import seed_saved_replies
from helpdesk.tickets import calendars, sla
from helpdesk.tickets.models import (
    STATUS_CLOSED,
    STATUS_NEW,
    STATUS_OPEN,
    STATUS_RESOLVED,
    STATUS_WAITING,
    Category,
    Message,
    Priority,
    Ticket,
)

DEMO_PASSWORD = "helpdesk-demo"
CATEGORIES = ("IT", "Sales", "Billing")
# What each demo category is for, as an admin would write it (shown on the new-ticket form).
CATEGORY_DESCRIPTIONS = {
    "IT": "Laptops, e-mail, VPN, passwords and access to our systems.",
    "Sales": "Quotes, plans, licences and questions before you buy.",
    "Billing": "Invoices, payments, refunds and your credit balance.",
}
PRIORITIES = (("Low", 1, 3 * 24 * 60), ("Normal", 2, 24 * 60), ("High", 3, 4 * 60), ("Urgent", 4, 60))
# Tariffs: credits per ticket for each priority (set on creation only; admins edit them later).
TARIFFS = {"Low": 0, "Normal": 0, "High": 150, "Urgent": 250}
STAGED_THRESHOLDS = (("topup_percent", 25), ("cheapest_paid", 0), ("fixed", 0))
# name: (priorities, settings); created once, never overwritten (admins edit plans).
PLANS = {
    "Free": (
        ("Low", "Normal"),
        dict(description="Low and Normal priority, no credits.", self_service=True, is_default=True),
    ),
    "Pay as you go": (
        ("Low", "Normal", "High", "Urgent"),
        dict(
            description="Every priority; buy credits when you need a faster answer.",
            credits_enabled=True,
            signup_grant=100,
            self_service=True,
        ),
    ),
    "Business": (
        ("Low", "Normal", "High", "Urgent"),
        dict(
            description="Every priority, 1,000 credits a month, refund if we miss the response target.",
            credits_enabled=True,
            monthly_allowance=1000,
            rollover_cap=1000,
            guarantee=True,
        ),
    ),
    "Time bank": (
        ("Low", "Normal", "High", "Urgent"),
        dict(
            description="Pay for agent time: 1 credit a minute, 600 credits a month.",
            credits_enabled=True,
            monthly_allowance=600,
            rollover_cap=600,
            billing_mode=BILLING_TIME,
            minute_rate=1,
        ),
    ),
}
USERS = (
    ("admin@example.com", "Ada Admin", ROLE_ADMIN, None, False, ()),
    ("it.tech@example.com", "Ivan IT", ROLE_TECHNICIAN, None, False, ("IT",)),
    ("sales.tech@example.com", "Sara Sales", ROLE_TECHNICIAN, None, False, ("Sales",)),
    ("alice@example.com", "Alice Archer", ROLE_CUSTOMER, None, False, ()),
    ("bob@example.com", "Bob Baker", ROLE_CUSTOMER, None, False, ()),
    ("carol@acme.example", "Carol Carter", ROLE_CUSTOMER, "Acme", True, ()),
    ("dave@acme.example", "Dave Dunn", ROLE_CUSTOMER, "Acme", False, ()),
    ("john@example.com", "John Jones", ROLE_CUSTOMER, None, False, ()),
)
TICKETS = (
    (
        "IT",
        "VPN drops every 10 minutes",
        "Since Monday my VPN connection drops roughly every ten minutes. I'm on Wi-Fi at home, client version 5.2.",
    ),
    (
        "IT",
        "Cannot print to the 3rd floor printer",
        "The printer shows as offline on my laptop, colleagues can print fine.",
    ),
    (
        "IT",
        "Password reset link expired",
        "I clicked the reset link within 5 minutes and it says it expired.",
    ),
    (
        "IT",
        "Outlook keeps asking for my password",
        "After the update Outlook prompts me for my password every hour.",
    ),
    (
        "IT",
        "New starter needs a laptop",
        "We have a new hire starting on the 1st. Please prepare a laptop with the standard image.",
    ),
    (
        "IT",
        "Shared drive is read-only",
        "I can no longer save files to the Projects share; it says access denied.",
    ),
    ("IT", "Two-factor codes not arriving", "SMS codes for the portal stopped arriving on my phone."),
    ("IT", "Slow database reports", "The monthly report takes 20 minutes to run instead of 2."),
    (
        "IT",
        "Error 500 when uploading an invoice",
        "Uploading a PDF invoice gives an error 500. File attached is 2 MB.",
    ),
    ("IT", "Request access to the staging server", "I need SSH access to staging for the release next week."),
    ("IT", "Monitor flickers", "My second monitor flickers when I move windows onto it."),
    ("IT", "Wi-Fi in meeting room B", "Wi-Fi in room B is very slow, video calls keep freezing."),
    (
        "Sales",
        "Quote for 50 extra licences",
        "Could you send a quote for 50 additional licences on our current plan?",
    ),
    (
        "Sales",
        "Volume discount for annual plan",
        "We're considering switching to annual billing. Is there a volume discount?",
    ),
    ("Sales", "Demo for our operations team", "Our operations team would like a 30-minute demo next week."),
    ("Sales", "Reseller programme", "We are an IT services company and want to resell your product."),
    (
        "Sales",
        "Upgrade from Starter to Business",
        "What changes if we upgrade from Starter to Business mid-term?",
    ),
    ("Sales", "Education pricing", "Do you offer pricing for schools and universities?"),
    (
        "Sales",
        "Contract renewal questions",
        "Our contract renews next month; can we change the number of seats?",
    ),
    ("Sales", "Trial extension", "Could you extend our trial by two weeks? We need more time to evaluate."),
    (
        "Billing",
        "Invoice shows the wrong VAT number",
        "Our VAT number on the last invoice is missing a digit.",
    ),
    ("Billing", "Charged twice in October", "I see two identical charges on my card for October."),
    (
        "Billing",
        "Change the billing e-mail address",
        "Please send invoices to accounts@ instead of my personal address.",
    ),
    (
        "Billing",
        "Refund for unused month",
        "We cancelled on the 3rd; can we get a refund for the rest of the month?",
    ),
    (
        "Billing",
        "Card declined at renewal",
        "The renewal failed because the card was declined. How do I update it?",
    ),
    (
        "Billing",
        "Need a PO number on invoices",
        "Our finance team requires a purchase-order number on every invoice.",
    ),
    ("IT", "Laptop battery swelling", "The battery on my laptop looks swollen and the trackpad is raised."),
    ("IT", "Calendar sync with phone broken", "My calendar no longer syncs with my phone since yesterday."),
    ("Sales", "Custom SLA for enterprise", "We need a 1-hour response SLA. What would that cost?"),
    (
        "Billing",
        "Credit note for downtime",
        "We had 6 hours of downtime last week; is a credit note possible?",
    ),
    ("IT", "Install Python 3.12 on build agent", "Build agent 3 needs Python 3.12 for the new pipeline."),
    ("IT", "Phishing e-mail reported", "I received a suspicious e-mail asking me to confirm my password."),
)
CREDIT_PACKS = (("Starter", 500, 5000), ("Team", 1200, 10000), ("Business", 3000, 22500))
AGENT_REPLIES = (
    "Thanks for reporting this. Could you tell us when it last happened and send a screenshot?",
    "We've looked into this and applied a fix on our side. Can you check again?",
    "I've forwarded this to the right team; we'll update you here.",
    "That's done. Let us know if anything else comes up.",
)
CUSTOMER_REPLIES = (
    "Thanks, here are the details you asked for.",
    "It still happens, unfortunately.",
    "Confirmed, it works now. Thank you!",
)


def _get_or_create(model, defaults=None, **keys):
    item = db.session.scalar(select(model).filter_by(**keys))
    if item is None:
        item = model(**keys, **(defaults or {}))
        db.session.add(item)
        db.session.flush()
    return item


def seed_reference_data():
    """Categories and priorities every help desk needs (idempotent)."""
    categories = {
        name: _get_or_create(Category, name=name, defaults={"description": CATEGORY_DESCRIPTIONS[name]})
        for name in CATEGORIES
    }
    priorities = {
        name: _get_or_create(
            Priority,
            name=name,
            defaults={"sort_order": order, "response_minutes": minutes, "credit_cost": TARIFFS[name]},
        )
        for name, order, minutes in PRIORITIES
    }
    seed_plans(priorities)
    return categories, priorities


def seed_credit_packs():
    """The three standard credit packs, in the configured currency (idempotent, by name)."""
    currency = current_app.config.get("CURRENCY", "usd").lower()
    return [
        _get_or_create(
            CreditPack, name=name, defaults={"credits": amount, "price": price, "currency": currency}
        )
        for name, amount, price in CREDIT_PACKS
    ]


def seed_demo_subscriptions():
    """The demo sells Business as a monthly subscription (the demo provider ignores the price id),
    falling back to Pay as you go when it ends (idempotent; what an admin changed stays)."""
    plans = {p.name: p for p in credits.all_plans()}
    if "Business" in plans and "Pay as you go" in plans:
        _get_or_create(
            PlanPrice,
            plan_id=plans["Business"].id,
            defaults={
                "stripe_price_id": "price_demo_business",
                "fallback_plan_id": plans["Pay as you go"].id,
            },
        )


def seed_plans(priorities):
    """The four service plans with their priorities and low-balance stages (idempotent)."""
    plans = {}
    for name, (offered, settings) in PLANS.items():
        plan = db.session.scalar(select(ServicePlan).where(ServicePlan.name == name))
        if plan is None:
            plan = ServicePlan(name=name, **settings)
            plan.priorities = [priorities[p] for p in offered if p in priorities]
            if plan.credits_enabled:
                stages = STAGED_THRESHOLDS
                if plan.billing_mode == BILLING_TIME:  # no per-ticket prices in time mode
                    stages = tuple(s for s in stages if s[0] != "cheapest_paid")
                plan.thresholds = [
                    LowBalanceThreshold(position=i, basis=basis, value=value)
                    for i, (basis, value) in enumerate(stages, start=1)
                ]
            db.session.add(plan)
            db.session.flush()
        plans[name] = plan
    return plans


def seed_demo_banks(users):
    """alice on Business with 1,000 credits, bob and john on Free, Acme's shared bank of 500 (idempotent)."""
    plans = {p.name: p for p in credits.all_plans()}
    alice = credits.open_account(plans["Business"], user=users["alice@example.com"])
    if not db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.account_id == alice.id)):
        credit_allowances.grant_allowance(alice.id, credit_allowances.period_of(utcnow()))
    for email in ("bob@example.com", "john@example.com"):
        credits.open_account(plans["Free"], user=users[email])
    acme = credits.open_account(plans["Pay as you go"], organization=users["carol@acme.example"].organization)
    key = f"seed:opening:{acme.id}"
    if credits.find_entry(key) is None:
        credits.post_entry(
            acme.id, 500 - acme.balance, "adjustment", idempotency_key=key, memo="Demo opening balance"
        )


DEMO_HOURS = "08:00-18:00"  # Monday to Friday, Europe/London, UK public holidays
DEMO_TARGETS = {"Urgent": (8 * 60, 50), "High": (16 * 60, 25)}  # resolution target, refund % if missed


def seed_business_hours(categories, priorities):
    """The demo desk's hours: office hours by default, IT round the clock; resolution targets and
    their refunds on the paid priorities (idempotent: what an admin changed stays)."""
    default = calendars.calendar_of(None)
    # Migration 0011 gives every install a round-the-clock default that nobody saved (no
    # updated_by, no hours): the demo's office hours replace that one, never an admin's choice.
    if default is None or (default.always_open and default.updated_by_id is None and not default.intervals):
        days = {weekday: DEMO_HOURS for weekday in range(5)}
        calendars.save_calendar(
            None, None, timezone="Europe/London", always_open=False, days=days, closures="",
            country="GB", subdivision="",
        )  # fmt: skip
    if calendars.calendar_of(categories["IT"].id) is None:
        calendars.save_calendar(
            None, categories["IT"].id, timezone="UTC", always_open=True, days={}, closures="",
            country="", subdivision="",
        )  # fmt: skip
    for name, (minutes, percent) in DEMO_TARGETS.items():
        priority = priorities[name]
        if priority.resolution_minutes is None:
            priority.resolution_minutes, priority.resolution_refund_percent = minutes, percent


def seed_demo():
    """Create the demo help desk once; running it again changes nothing. Returns a summary."""
    categories, priorities = seed_reference_data()
    seed_business_hours(categories, priorities)
    acme = _get_or_create(Organization, name="Acme")
    password_hash = None
    users = {}
    for email, name, role, org, manager, perms in USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            user = User(
                email=email,
                name=name,
                role=role,
                password_hash=password_hash,
                organization=acme if org else None,
                is_org_manager=manager,
            )
            db.session.add(user)
            db.session.flush()
            for cat in perms:
                db.session.add(CategoryPermission(user_id=user.id, category_id=categories[cat].id))
        users[email] = user
    db.session.flush()
    seed_demo_banks(users)
    seed_credit_packs()
    seed_demo_subscriptions()
    created = 0
    if not db.session.scalar(select(func.count(Ticket.id))):
        created = _seed_tickets(users, categories, priorities)
    articles = seed_knowledge_base(users, categories)
    seed_saved_replies(users, categories)
    return {"users": len(users), "tickets_created": created, "articles_created": articles}


def _seed_tickets(users, categories, priorities):
    rng = random.Random(20261121)
    customers = [
        users[e] for e in ("alice@example.com", "bob@example.com", "carol@acme.example", "dave@acme.example")
    ]
    agents_for = {
        "IT": users["it.tech@example.com"],
        "Sales": users["sales.tech@example.com"],
        "Billing": users["admin@example.com"],
    }
    statuses = [STATUS_NEW, STATUS_OPEN, STATUS_OPEN, STATUS_WAITING, STATUS_RESOLVED, STATUS_CLOSED]
    now = utcnow()
    for index, (cat, subject, body) in enumerate(TICKETS):
        requester = customers[index % len(customers)]
        names = ("Normal", "Low", "High", "Normal", "Urgent")
        if requester.email == "bob@example.com":  # on the Free plan: free priorities only
            names = ("Normal", "Low")
        priority = priorities[names[index % len(names)]]
        created = now - timedelta(hours=rng.randint(6, 24 * 40))
        status = statuses[index % len(statuses)]
        ticket = Ticket(
            subject=subject,
            body=body,
            requester=requester,
            organization_id=requester.organization_id,
            category=categories[cat],
            category_id=categories[cat].id,
            priority=priority,
            status=status,
            created_at=created,
            updated_at=created,
            submission_key=f"seed-{index}",
        )
        sla.open_clocks(ticket)
        if status != STATUS_NEW:
            agent = agents_for[cat]
            ticket.assignee = agent
            # Every moment before now: the reply within the first third of the ticket's age, the
            # customer's answer and the resolution before now too ("Updated in 2 days" otherwise).
            age = now - created
            replied = created + min(
                timedelta(minutes=rng.randint(10, priority.response_minutes + 120)), age / 3
            )
            ticket.first_response_at = replied
            messages = [Message(author=agent, body=rng.choice(AGENT_REPLIES), created_at=replied)]
            if index % 4 == 0:
                messages.append(
                    Message(
                        author=agent,
                        body="Checked the logs; looks like a config issue.",
                        internal=True,
                        created_at=replied + timedelta(minutes=5),
                    )
                )
            if status in (STATUS_OPEN, STATUS_RESOLVED, STATUS_CLOSED):
                messages.append(
                    Message(
                        author=requester,
                        body=rng.choice(CUSTOMER_REPLIES),
                        created_at=replied + min(timedelta(hours=2), (now - replied) / 3),
                    )
                )
            ticket.messages = messages
            ticket.updated_at = messages[-1].created_at
            if status in (STATUS_RESOLVED, STATUS_CLOSED):
                ticket.resolved_at = ticket.updated_at + min(
                    timedelta(hours=1), (now - ticket.updated_at) / 2
                )
                ticket.updated_at = ticket.resolved_at
            if status == STATUS_WAITING and priority.resolution_minutes:
                ticket.resolution_paused_at = ticket.updated_at  # waiting on the customer since
                ticket.resolution_due_at = ticket.resolution_warn_at = None
        db.session.add(ticket)
    db.session.flush()
    _charge_paid_priorities(customers)
    _log_demo_time(agents_for["IT"])
    return len(TICKETS)


def _log_demo_time(agent):
    """Time an IT technician logged on their first open ticket, so the ticket page's credit panel
    shows entries (recorded, or charged on a plan that bills time)."""
    ticket = db.session.scalar(
        select(Ticket)
        .where(Ticket.assignee_id == agent.id, Ticket.status == STATUS_OPEN)
        .order_by(Ticket.id)
        .limit(1)
    )
    if ticket is not None:
        time_entries.log_time(ticket, agent, 25, "Remote session: reinstalled the VPN client")
        time_entries.log_time(ticket, agent, 10, "Follow-up call")


def _charge_paid_priorities(customers):
    """The sample tickets' paid priorities are charged like a real submission, so the queue shows
    the paid marker and the statements their charges. Each bank is first credited what its
    tickets cost ("Demo: credits for the sample tickets"), so it keeps its documented balance."""
    charges = []
    for requester in customers:
        for ticket in db.session.scalars(select(Ticket).where(Ticket.requester_id == requester.id)):
            account, cost = credit_quotes.new_ticket_price(requester, ticket.priority)
            if cost > 0 and account is not None and account.plan.credits_enabled:
                charges.append((requester, ticket, account, cost))
    totals = {}
    for _requester, _ticket, account, cost in charges:
        totals[account.id] = totals.get(account.id, 0) + cost
    for account_id, total in totals.items():
        credits.post_entry(
            account_id,
            total,
            KIND_ADJUSTMENT,
            idempotency_key=f"seed:sample-tickets:{account_id}",
            memo="Demo: credits for the sample tickets",
        )
    for requester, ticket, account, cost in charges:
        credit_quotes.charge_new_ticket(
            requester, ticket, (account, cost), submission_key=ticket.submission_key
        )
