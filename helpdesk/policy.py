"""Who may see and do what. Every access rule of the help desk lives here and nowhere else.

A ticket a user may not see is reported as missing (404), never as forbidden, so its existence
does not leak. Technicians see the categories they were granted; admins see everything;
customers see their own tickets, their organization's if they manage it, and the tickets they
subscribe to. Knowledge-base articles follow the same habit: one the viewer may not read is
missing everywhere (page, search, suggestions, sitemap, files).
"""

from flask import abort, current_app
from sqlalchemy import and_, bindparam, false, or_, select, true
from werkzeug.local import LocalProxy

from helpdesk.accounts.models import ACTIVE_AGENT, AGENT_ROLES, ROLE_ADMIN, CategoryPermission, User
from helpdesk.billing.models import Payment, PlanSubscription, SubscriptionInvoice
from helpdesk.credits.models import CreditAccount
from helpdesk.extensions import db
from helpdesk.kb import models as kb
from helpdesk.querying import column_rows
from helpdesk.tickets.models import STATUS_CLOSED, Attachment, Subscription, Ticket


def _resolved(user):
    """The user behind Flask-Login's `current_user`, which views pass in: every attribute read of
    the proxy looks the user up in the request again (a dozen of these rules run per page, each
    reading three or four attributes), so the rules below read the object itself."""
    return user._get_current_object() if type(user) is LocalProxy else user


def is_agent(user):
    user = _resolved(user)
    return bool(user and user.is_authenticated and user.active and user.is_agent)


def is_admin(user):
    user = _resolved(user)
    return bool(user and user.is_authenticated and user.active and user.is_admin)


def must_use_two_factor(user, required_roles):
    """Users whose role is among `required_roles` (the REQUIRE_2FA setting) sign in with two factors."""
    return bool(user and user.role in tuple(required_roles or ()))


def permitted_category_ids(user):
    """The categories a technician was granted (policy decides what admins and others may do)."""
    user = _resolved(user)
    loaded = getattr(user, "granted_category_csv", None)  # loaded with the signed-in user
    if loaded is not None:
        return {int(part) for part in loaded.split(",") if part}
    return {p.category_id for p in user.category_permissions}


def granted_categories(user_id):
    """A SELECT of the category ids granted to the technician `user_id` (an id or a bind
    parameter): permitted_category_ids in SQL."""
    return select(CategoryPermission.category_id).where(CategoryPermission.user_id == user_id)


def manages_organization(user):
    """The user manages an organization: they see all its tickets and buy for its bank."""
    return bool(user.is_org_manager and user.organization_id)


def manages_organization_of(user, ticket):
    """The user manages the organization the ticket belongs to."""
    return manages_organization(user) and ticket.organization_id == user.organization_id


def ticket_visibility(user):
    """A SQL condition on Ticket that is true exactly for the tickets `user` may see."""
    return _visibility(user, getattr(user, "id", None), getattr(user, "organization_id", None))[1]


def ticket_visibility_shape(user):
    """The same rule for a reusable statement: (shape, params), without building any SQL. The
    condition of a shape (ticket_visibility_condition) uses the bind parameters `viewer_id` and
    `viewer_org`, whose values are in `params`, so a statement built for one viewer serves any
    viewer of the same shape (the queue keeps them)."""
    return _visibility_shape(user), {"viewer_id": user.id, "viewer_org": user.organization_id}


def ticket_visibility_condition(shape):
    """The SQL condition of a visibility shape, on the bind parameters `viewer_id`, `viewer_org`."""
    return _visibility_condition(shape, bindparam("viewer_id"), bindparam("viewer_org"))


def _visibility(user, user_id, org_id):
    """(shape, condition): which rule applies to `user`, and its SQL for these id values."""
    shape = _visibility_shape(user)
    return shape, _visibility_condition(shape, user_id, org_id)


def _visibility_shape(user):
    if not (user and user.is_authenticated and user.active):
        return "nobody"
    if user.is_admin:
        return "admin"
    if user.is_agent:
        return "agent"
    return "manager" if manages_organization(user) else "customer"


def _visibility_condition(shape, user_id, org_id):
    if shape == "nobody":
        return false()
    if shape == "admin":
        return true()
    if shape == "agent":
        return Ticket.category_id.in_(granted_categories(user_id))
    subscribed = select(Subscription.ticket_id).where(Subscription.user_id == user_id)
    conditions = [Ticket.requester_id == user_id, Ticket.id.in_(subscribed)]
    if shape == "manager":
        conditions.append(Ticket.organization_id == org_id)
    return or_(*conditions)


def visible_tickets(user):
    """A SELECT of the tickets `user` may see, to refine with filters and ordering."""
    return select(Ticket).where(ticket_visibility(user))


def visible_ticket_ids(user, ticket_ids):
    """Which of `ticket_ids` `user` may see (one query): a shared bank's statement names tickets
    of every member, and links only those the viewer may open."""
    ids = {i for i in ticket_ids if i is not None}
    if not ids:
        return set()
    return set(db.session.scalars(select(Ticket.id).where(Ticket.id.in_(ids), ticket_visibility(user))))


def can_view_ticket(user, ticket):
    user = _resolved(user)
    if ticket is None or not (user and user.is_authenticated and user.active):
        return False
    if user.is_admin:
        return True
    if user.is_agent:
        return ticket.category_id in permitted_category_ids(user)
    if ticket.requester_id == user.id:
        return True
    if manages_organization_of(user, ticket):
        return True
    return any(s.user_id == user.id for s in ticket.subscriptions)


# --- Seeing each other work (issue 16 item 6) ------------------------------------------------------
def agents_who_may_view(ticket):
    """A SQL condition on User, true for the active agents who may see `ticket` (can_view_ticket's
    rule for agents): admins, and technicians granted its category. Presence shows only them."""
    return agents_who_may_view_category(ticket.category_id)


def agents_who_may_view_category(category_id):
    """agents_who_may_view for a ticket of `category_id` (a value or a bind parameter)."""
    from helpdesk.accounts.models import ACTIVE_AGENT, ROLE_ADMIN, User

    granted = select(CategoryPermission.user_id).where(CategoryPermission.category_id == category_id)
    return and_(ACTIVE_AGENT, or_(User.role == ROLE_ADMIN, User.id.in_(granted)))


def get_ticket_or_404(user, ticket_id):
    """The ticket if `user` may see it; otherwise 404, whether it exists or not."""
    ticket = db.session.get(Ticket, ticket_id)
    if not can_view_ticket(user, ticket):
        abort(404)
    return ticket


def can_reply(user, ticket):
    """Customers, org managers and subscribers reply publicly unless closed; agents always."""
    if not can_view_ticket(user, ticket) or ticket.merged_into_id is not None:
        return False  # a merged duplicate's conversation goes on in the ticket it was merged into
    return user.is_agent or ticket.status != STATUS_CLOSED


def can_follow_up(user, ticket):
    """Who may open a follow-up of a closed ticket by answering its mail: whoever could reply to
    it while it was open (its requester, their organization's manager, a subscriber). Agents
    reply to a closed ticket as it is (can_reply); a merged duplicate's mail goes to the kept one."""
    if not can_view_ticket(user, ticket) or ticket.merged_into_id is not None:
        return False
    return not user.is_agent and ticket.status == STATUS_CLOSED


def can_write_internal_note(user, ticket):
    return is_agent(user) and can_view_ticket(user, ticket)


def can_see_internal(user, ticket):
    """Internal notes (and their attachments) are for agents only."""
    return is_agent(user) and can_view_ticket(user, ticket)


def can_close_or_reopen(user, ticket):
    """The requester, their organization's manager, and agents; not subscribers. Nobody reopens
    a merged duplicate (it stays closed)."""
    if not can_view_ticket(user, ticket) or ticket.merged_into_id is not None:
        return False
    if user.is_agent or ticket.requester_id == user.id:
        return True
    return manages_organization_of(user, ticket)


def can_edit_ticket(user, ticket):
    """Status, priority, category, assignee, tags, subscribers: agents who can see it."""
    return is_agent(user) and can_view_ticket(user, ticket)


def can_use_category(user, category_id):
    """May this agent put a ticket in this category (move, bulk move)."""
    if is_admin(user):
        return True
    return is_agent(user) and category_id in permitted_category_ids(user)


def can_be_assigned(assignee, ticket):
    """Only active agents with permission for the ticket's category; never subscribers."""
    if assignee is None:
        return True  # unassigning
    if not (assignee.active and assignee.is_agent):
        return False
    return assignee.is_admin or ticket.category_id in permitted_category_ids(assignee)


# --- Who may be assigned where, for many agents at once (the queue's bulk "Assign to") ----------
def _assignable_query():
    granted = and_(
        CategoryPermission.user_id == User.id,
        CategoryPermission.category_id.in_(bindparam("categories", expanding=True)),
    )
    return select(User.id, User.role, CategoryPermission.category_id).outerjoin(CategoryPermission, granted)


ASSIGNABLE = _assignable_query().where(ACTIVE_AGENT)  # built once: the queue asks on every page


def assignable_categories(category_ids):
    """{active agent id: which of `category_ids` they may be assigned tickets in, or None for
    every category}: can_be_assigned for every agent at once, in one query."""
    allowed = {}
    for user_id, role, category_id in column_rows(ASSIGNABLE, {"categories": sorted(category_ids)}):
        if role == ROLE_ADMIN:
            allowed[user_id] = None
        else:
            grants = allowed.setdefault(user_id, set())
            if category_id is not None:
                grants.add(category_id)
    return allowed


def can_see_reports(user):
    return is_agent(user)


def can_administer(user):
    return is_admin(user)


def can_erase_personal_data(actor, user):
    """Erase a person's personal data (GDPR right to erasure, accounts.erasure): admins, for a
    customer (subscribers are customers) whose data was not erased already; never an agent (made
    a customer first, they can be) nor oneself."""
    return bool(
        is_admin(actor)
        and user is not None
        and user.id != _resolved(actor).id
        and user.is_customer
        and not user.erased
    )


def can_download_attachment(user, attachment: Attachment):
    """Visible with its ticket; attachments of internal notes only for agents."""
    ticket = attachment.ticket
    if ticket is None:  # staged with a form not yet accepted: only its uploader
        return bool(user and user.is_authenticated and attachment.uploader_id == user.id)
    if not can_view_ticket(user, ticket):
        return False
    if attachment.message is not None and attachment.message.internal:
        return can_see_internal(user, ticket)
    return True


def is_subscriber_only(user, ticket):
    """True when the user sees this ticket only because they follow it."""
    if user.is_agent or ticket.requester_id == user.id:
        return False
    if manages_organization_of(user, ticket):
        return False
    return any(s.user_id == user.id for s in ticket.subscriptions)


def can_report_on_category(user, category_id):
    """Reports cover the categories whose tickets the agent sees: admins all, technicians theirs."""
    if is_admin(user):
        return True
    return is_agent(user) and category_id in permitted_category_ids(user)


# Billing: card purchases of credit packs.


def can_manage_billing(user):
    """Packs, payments, revenue reports and phone orders: helpdesk admins only."""
    return is_admin(user)


def can_buy_credits(user):
    """Credit packs are bought by (or, on a phone order, for) active customers."""
    return bool(user and user.is_authenticated and user.active and user.is_customer)


def can_buy_for_organization(user):
    """An organization's manager buys credits for its shared bank."""
    return can_buy_credits(user) and manages_organization(user)


def can_buy_for_bank(user, account):
    """Customers buy for their own bank; a shared bank only its organization's manager."""
    if account is None or not can_buy_credits(user):
        return False
    if account.organization_id:
        return can_buy_for_organization(user) and user.organization_id == account.organization_id
    return account.user_id == user.id


def can_manage_subscription(user, subscription):
    """A bank's subscription (and, offline, its demo pages): whoever buys credits for the bank."""
    return subscription is not None and can_buy_for_bank(user, subscription.account)


def can_change_plan(user, account):
    """A customer changes the plan of their own bank (or opens one); a shared bank's plan only its
    organization's manager changes, like buying for it."""
    if not can_buy_credits(user):
        return False
    if account is None:
        return True
    return can_buy_for_bank(user, account)


def can_manage_members(user, account):
    """Monthly caps and the per-member usage of a shared bank: its organization's managers."""
    return bool(account is not None and account.organization_id and can_buy_for_bank(user, account))


def can_ask_for_credits(user, account):
    """A member who spends from their organization's shared bank but may not buy for it asks a manager."""
    return bool(
        account is not None
        and account.organization_id
        and can_buy_credits(user)
        and user.organization_id == account.organization_id
        and not can_buy_for_bank(user, account)
    )


def payment_visibility(user):
    """A SQL condition on Payment: admins all; the buyer; managers their organization's bank's."""
    if not (user and user.is_authenticated and user.active):
        return false()
    if user.is_admin:
        return true()
    conditions = [Payment.user_id == user.id]
    if can_buy_for_organization(user):
        org_banks = select(CreditAccount.id).where(CreditAccount.organization_id == user.organization_id)
        conditions.append(Payment.account_id.in_(org_banks))
    return or_(*conditions)


def can_view_payment(user, payment):
    if payment is None or not (user and user.is_authenticated and user.active):
        return False
    if user.is_admin or payment.user_id == user.id:
        return True
    return can_buy_for_organization(user) and payment.account.organization_id == user.organization_id


def get_payment_or_404(user, payment_id):
    """The payment (receipt) if `user` may see it; otherwise 404, whether it exists or not."""
    payment = db.session.get(Payment, payment_id)
    if not can_view_payment(user, payment):
        abort(404)
    return payment


def invoice_visibility(user):
    """A SQL condition on SubscriptionInvoice joined to its PlanSubscription, like payments': admins
    all; the subscriber; managers their organization's bank's."""
    if not (user and user.is_authenticated and user.active):
        return false()
    if user.is_admin:
        return true()
    conditions = [PlanSubscription.user_id == user.id]
    if can_buy_for_organization(user):
        org_banks = select(CreditAccount.id).where(CreditAccount.organization_id == user.organization_id)
        conditions.append(PlanSubscription.account_id.in_(org_banks))
    return or_(*conditions)


def get_invoice_or_404(user, invoice_id):
    """(invoice, its subscription): a paid subscription invoice (its receipt) if `user` may see it
    (invoice_visibility, the rule of the payment history); otherwise 404."""
    found = db.session.execute(
        select(SubscriptionInvoice, PlanSubscription)
        .join(PlanSubscription, PlanSubscription.id == SubscriptionInvoice.subscription_id)
        .where(
            SubscriptionInvoice.id == invoice_id,
            SubscriptionInvoice.paid_at.is_not(None),
            invoice_visibility(user),
        )
    ).first()
    if found is None:
        abort(404)
    return tuple(found)


def can_see_ticket_charges(user, ticket):
    """What was paid for a ticket (its charges and refunds on the ticket page): agents who see it,
    its requester, and their organization's manager (whose shared bank may pay); not someone who
    only follows it, who would learn what another customer paid and how."""
    if not can_view_ticket(user, ticket):
        return False
    return user.is_agent or ticket.requester_id == user.id or manages_organization_of(user, ticket)


def can_upgrade_priority(user, ticket):
    """Customers (requester or their organization's manager) raise the priority of an open ticket."""
    return bool(can_close_or_reopen(user, ticket) and not user.is_agent and ticket.is_open)


def can_view_bank(user, account):
    """A bank's statement: its owner, the organization's members, and admins."""
    if not (user and user.is_authenticated and user.active) or account is None:
        return False
    if user.is_admin:
        return True
    if account.user_id is not None:
        return account.user_id == user.id
    return user.organization_id == account.organization_id


def can_log_time(user, ticket):
    """Time entries on a ticket: agents who may work it."""
    return can_edit_ticket(user, ticket)


def could_log_time_as(user, ticket, *, role, active):
    """can_log_time for `user` once they have `role` and are `active` or not (what the confirmation
    of a role change or a deactivation announces of their running timers): admins may on every
    ticket, technicians on their categories' tickets, nobody else."""
    if not active or role not in AGENT_ROLES:
        return False
    return role == ROLE_ADMIN or ticket.category_id in permitted_category_ids(user)


def can_change_time_entry(user, entry, ticket=None):
    """Edit or delete a time entry, or stop a running timer (its minutes are billed to the
    customer): the agent who logged it, or an admin, while they may log time on its ticket (`ticket`, when the caller has it at
    hand: the credit panel's entries are plain values). A colleague's entry is not theirs to move."""
    if entry is None or not (is_admin(user) or (is_agent(user) and entry.agent.id == user.id)):
        return False
    return can_log_time(user, ticket if ticket is not None else entry.ticket)


def can_manage_credits(user):
    """Grants, deductions, plans and tariffs: admins only."""
    return is_admin(user)


def can_use_agent_console(user):
    """The queue and the agent ticket pages: active technicians and admins."""
    return is_agent(user)


def can_look_up_customers(user):
    """Find customers by name or e-mail (the on-behalf form's suggestions): agents, who open
    tickets for any customer; never customers, who see no one else's address."""
    return is_agent(user)


def can_stop_following(user, ticket):
    """A subscriber (only that: not the requester, not a manager of its organization) may leave."""
    return is_subscriber_only(user, ticket)


def can_manage_subscribers(user, ticket):
    """Agents who can work the ticket add and remove its subscribers."""
    return can_edit_ticket(user, ticket)


def can_subscribe(user, ticket):
    """Subscribers are active regular users other than the requester; agents never subscribe."""
    return bool(user is not None and user.active and not user.is_agent and user.id != ticket.requester_id)


# Knowledge base (issue 15): a category's technicians write its articles, admins all; readers read
# the published articles their visibility allows. One the viewer may not read answers 404.


def _signed_in(user):
    return bool(user and user.is_authenticated and user.active)


def kb_public():
    """Whether visitors who are not signed in read public articles (KB_PUBLIC, default on)."""
    return bool(current_app.config.get("KB_PUBLIC", True))


def kb_visibilities(user):
    """The visibilities of the published articles `user` reads: agents every one; signed-in
    customers (subscribers and organization managers included) public and customers' articles;
    visitors public articles when the desk allows it (KB_PUBLIC), else none.

    The article's category never narrows this: every customer may open tickets in every active
    category, so every customer reads every category's articles (an archived category's too:
    it takes no new tickets, and its answers still hold)."""
    if is_agent(user):
        return kb.VISIBILITIES
    if _signed_in(user):
        return (kb.VISIBILITY_PUBLIC, kb.VISIBILITY_CUSTOMERS)
    return (kb.VISIBILITY_PUBLIC,) if kb_public() else ()


def can_read_kb(user):
    """The knowledge base's home, category pages and search: anyone who may read some article."""
    return bool(kb_visibilities(user))


def kb_reading_condition(user):
    """A SQL condition on Article: published, of a visibility `user` reads. Every list, search,
    suggestion and sitemap of articles goes through it."""
    visibilities = kb_visibilities(user)
    if not visibilities:
        return false()
    return and_(kb.Article.status == kb.STATUS_PUBLISHED, kb.Article.visibility.in_(visibilities))


KB_READING_PARAMETER = "kb_visibilities"


def kb_reading_condition_bound():
    """kb_reading_condition with the visibilities as a parameter, for statements built once per
    process (kb/search.py): executed with kb_reading_parameters(user), it reads exactly what
    kb_reading_condition(user) reads (no visibility: an empty IN, nothing)."""
    visibility = kb.Article.visibility.in_(bindparam(KB_READING_PARAMETER, expanding=True))
    return and_(kb.Article.status == kb.STATUS_PUBLISHED, visibility)


def kb_reading_parameters(user):
    return {KB_READING_PARAMETER: list(kb_visibilities(user))}


def can_write_kb_category(user, category_id):
    """Write, edit, publish and archive the articles of a category: its technicians, and admins."""
    return can_use_category(user, category_id)


def kb_editing_condition(user):
    """A SQL condition on Article: the articles `user` may edit (the agent's article list)."""
    if is_admin(user):
        return true()
    if is_agent(user):
        granted = select(CategoryPermission.category_id).where(CategoryPermission.user_id == user.id)
        return kb.Article.category_id.in_(granted)
    return false()


def can_edit_article(user, article):
    return article is not None and can_write_kb_category(user, article.category_id)


def can_delete_article(user, article):
    """Its editors, and only a draft that was never published: nobody can have linked to it or
    read it. A published article is archived instead (its address keeps answering)."""
    return (
        can_edit_article(user, article) and article.status == kb.STATUS_DRAFT and article.published_at is None
    )


def can_read_article(user, article):
    """Published and of a visibility the user reads; a draft or an archived article only for those
    who may edit it (they preview it at its address)."""
    if article is None:
        return False
    if article.status == kb.STATUS_PUBLISHED and article.visibility in kb_visibilities(user):
        return True
    return can_edit_article(user, article)


def can_vote_on_article(user, article):
    """'Was this helpful?': readers of a published article (not its editors' preview of a draft)."""
    return bool(
        article is not None
        and article.status == kb.STATUS_PUBLISHED
        and article.visibility in kb_visibilities(user)
    )


def can_download_kb_file(user, article_file):
    """An article's images and attachments: whoever may read the article."""
    return article_file is not None and can_read_article(user, article_file.article)


def can_see_kb_feedback(user, article):
    """The votes and comments on an article are for its authors: those who may edit it."""
    return can_edit_article(user, article)


def can_manage_kb(user):
    """The agents' knowledge-base pages (/agent/kb): technicians and admins."""
    return is_agent(user)


# --- Saved replies (helpdesk.replies) -------------------------------------------------------------
# Shared ones belong to a category: its technicians and admins use and keep them. Personal ones are
# their owner's alone (an admin does not see another agent's personal replies).


def can_share_saved_reply(user, category_id):
    """Share a reply in a category: its technicians, and admins."""
    return can_use_category(user, category_id)


def saved_replies_condition(user, user_id=None):
    """A SQL condition on SavedReply: the replies `user` may see and insert. It depends on whether
    `user` is an agent and an admin, and on their id, which `user_id` (a bind parameter) may stand
    for in a statement built once per kind of user (replies.service.reply_choices)."""
    from helpdesk.replies.models import SavedReply

    if not is_agent(user):
        return false()
    user_id = user.id if user_id is None else user_id
    if is_admin(user):
        shared = SavedReply.category_id.is_not(None)
    else:
        shared = SavedReply.category_id.in_(granted_categories(user_id))
    return or_(SavedReply.owner_id == user_id, shared)


def can_keep_saved_reply(user, reply):
    """Edit or delete: a personal reply by its owner, a shared one by those who may share in its
    category."""
    if reply is None or not is_agent(user):
        return False
    if reply.owner_id is not None:
        return reply.owner_id == user.id
    return can_share_saved_reply(user, reply.category_id)


def same_customer(first, second):
    """Two tickets of the same requester, or of the same organization."""
    if first.requester_id == second.requester_id:
        return True
    return first.organization_id is not None and first.organization_id == second.organization_id


def can_merge_tickets(user, duplicate, kept):
    """Merge `duplicate` into `kept`: an agent who may edit both (they see both), for tickets of
    the same requester or organization."""
    return can_edit_ticket(user, duplicate) and can_edit_ticket(user, kept) and same_customer(duplicate, kept)
