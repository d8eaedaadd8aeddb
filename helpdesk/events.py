"""Domain events: what a domain announces so that domains above it can act (mail, credits, ...).

A lower domain never imports a higher one: tickets do not know that mail exists, yet a reply is
mailed. The tickets service sends `message_posted`; the mail domain, which is above it, connects
a receiver in its `init_app`. Receivers run at once, in the order they were connected, inside the
sender's transaction (they only flush): a mail exists exactly when its event does, and a receiver
that raises rolls the whole change back.

Why not blinker (which Flask already installs): its receivers run in an unspecified order unless
it is given an ordered set class, and the order here decides the order of outbox rows and ledger
entries, which must not vary from run to run.
"""


class Event:
    """One kind of event; `send(**payload)` calls every receiver and returns their results."""

    def __init__(self, name, doc):
        self.name = name
        self.__doc__ = doc
        self._receivers = []

    def connect(self, receiver):
        """Call `receiver(**payload)` on every send (once, however often it is connected)."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def send(self, **payload):
        return [receiver(**payload) for receiver in self._receivers]

    def __repr__(self):
        return f"<Event {self.name}>"


# --- accounts ------------------------------------------------------------------------------
customer_joining = Event(
    "customer_joining",
    "user, organization: a customer is about to join an organization (nothing is changed yet). Each "
    "receiver returns a sentence the admin must read and confirm before it happens (what joining "
    "does to the customer's own credits), or None.",
)
agent_access_reduced = Event(
    "agent_access_reduced",
    "user, actor: an agent was deactivated, stopped being an agent or lost a category. Each "
    "receiver returns what it did: how many open tickets assigned to them it sent back to "
    "Unassigned (an int: tickets), or the running timers of theirs it stopped (a tuple: credits).",
)
account_deactivated = Event(
    "account_deactivated",
    "user, actor: an account was deactivated (its sessions already ended). Each receiver ends the "
    "user's other credentials for good and returns how many it ended (an int: API tokens revoked).",
)
personal_data_erased = Event(
    "personal_data_erased",
    "user, actor, former: an admin erased a customer's personal data (accounts.erasure); the account "
    "row is already anonymised, `former` holds its old name and address (never stored). Each domain "
    "erases or anonymises what it keeps of them (docs/decisions.md, \"Erasing a customer's personal "
    'data"), only flushing.',
)
agent_access_granted = Event(
    "agent_access_granted",
    "user, actor: a customer was made a technician or admin. Returns how many ticket subscriptions "
    "each receiver ended (agents follow tickets through their categories, not as subscribers).",
)
password_reset_asked = Event(
    "password_reset_asked",
    "email: someone asked for a reset link for this (normalised) address, which an account may have "
    "or not: the request does not look, so it costs the same either way (the mail domain stores the "
    "request and its worker sends password_reset_requested if an active account has it). Returns "
    "outbox rows.",
)
confirmation_link_asked = Event(
    "confirmation_link_asked",
    "email: someone asked for a new confirmation link for this (normalised) address, which an "
    "account awaiting confirmation may have or not: the request does not look (the mail domain "
    "stores the request, its worker decides). Returns outbox rows.",
)
password_reset_requested = Event(
    "password_reset_requested",
    "user, url: a reset link is to be sent to an active account. Returns outbox rows.",
)
account_invited = Event(
    "account_invited",
    "user, actor, url: an admin added an account without a password; url is where its owner "
    "chooses one. Returns outbox rows.",
)

# --- tickets -------------------------------------------------------------------------------
ticket_created = Event("ticket_created", "ticket: a ticket was opened (any channel).")
category_renamed = Event("category_renamed", "category, old_name: an admin renamed a category.")
ticket_merged = Event(
    "ticket_merged",
    "duplicate, kept, actor: the duplicate's conversation moved into `kept`; the duplicate is being"
    " closed (receivers move what they keep per ticket and refund what was paid for it).",
)
message_posted = Event(
    "message_posted",
    "message, first_agent_reply: a reply or internal note was added by a person "
    "(first_agent_reply: the ticket's first public reply by an agent).",
)
ticket_status_changed = Event("ticket_status_changed", "ticket, actor, old, new: the status changed.")
priority_changing = Event(
    "priority_changing",
    "ticket, now: the ticket's priority is about to change (its row locked), before the change is "
    "priced or its clocks move: what a target already missed is owed must be settled on the clocks "
    "it was missed on, which the new priority's would hide.",
)
subscriber_added = Event(
    "subscriber_added",
    "ticket, user, actor, set_password_url: a user now follows the ticket (set_password_url for an "
    "account without a password). Returns outbox rows.",
)

# --- credits -------------------------------------------------------------------------------
credit_alert_raised = Event(
    "credit_alert_raised",
    "alert, label: a credit alert was recorded (low balance with the stage's label, unbilled time, "
    "a guarantee refund).",
)
guarantee_refunded = Event(
    "guarantee_refunded",
    "ticket, credits, entry, alert, target, payer, reason, percent: a missed target (or a "
    "withdrawal, or a merge) refunded `percent` of the credits paid for the ticket's priority to "
    '`payer`\'s bank; `reason` is "missed", "withdrawn" or "merged into #<id>".',
)
priority_lowered = Event(
    "priority_lowered",
    "ticket, credits, entry, payer, old_priority, new_priority: an agent lowered the ticket's "
    "priority and `credits` paid above the new one went back to `payer`'s bank (`entry`).",
)
sla_at_risk = Event(
    "sla_at_risk",
    "ticket, target: a paid ticket has used SLA_WARN_AT per cent of its `target` "
    "(response or resolution); sent once per ticket and target.",
)

# --- billing -------------------------------------------------------------------------------
payment_credited = Event("payment_credited", "payment: a card payment was credited to its bank.")
payment_link_created = Event(
    "payment_link_created",
    "payment, customer, actor, url: an admin took a phone order for the customer. Returns outbox rows.",
)
subscription_invoice_paid = Event(
    "subscription_invoice_paid",
    "invoice, subscription, credits: a subscription's invoice for a new period was paid and its "
    "allowance (`credits`) granted (once per invoice). Returns outbox rows.",
)
billing_alert_raised = Event("billing_alert_raised", "alert: a billing problem an admin must look at.")
subscription_renewal_failed = Event(
    "subscription_renewal_failed",
    "subscription, url: a card subscription's renewal payment failed (once per invoice); `url` is "
    "where the subscriber updates the card. Returns outbox rows.",
)
balance_changed = Event(
    "balance_changed",
    "account, old_balance, entry: a ledger entry moved a bank's balance (sent by post_entry under "
    "the bank's row lock, in the entry's transaction; billing's automatic top-up listens).",
)
top_up_failed = Event(
    "top_up_failed",
    "payment, reason, url: an automatic top-up's off-session card payment was refused (the card "
    "needs authentication, or was declined); `url` pays for the same pack by hand. Returns outbox rows.",
)

# --- credits: organizations (issue 14) ------------------------------------------------------
credit_requested = Event(
    "credit_requested",
    "request, managers, link: a member asked the managers of their organization's shared bank for "
    "credits (request.reason 'short': the bank is short; 'cap': their monthly cap is reached); "
    "`link` is the endpoint and arguments of the page where a manager acts on it.",
)

# --- agents' notifications and round-robin (issue 16 items 7 and 8) -------------------------------
ticket_assigned = Event(
    "ticket_assigned",
    "ticket, assignee, actor, reason: the ticket was given to `assignee` (an agent, never None) by "
    "`actor`, or with `actor` None by the desk itself in the ticket's creation transaction, for "
    '`reason` (words after "assigned #N to you": "round-robin\'s turn", "you had the ticket it follows up").',
)
notice_created = Event(
    "notice_created",
    "notice: an in-app notice was written for its user (the mail domain mails the kinds the user "
    "asked to get by mail too).",
)

# --- webhooks (issue 20 item 5): news that had no event yet ----------------------------------
ticket_changed = Event(
    "ticket_changed",
    "ticket, actor, field, old, new: one history entry was written for the ticket (status, "
    "priority, category, assignee, tags, merges, ...; old/new are its display strings).",
)
payment_refunded = Event(
    "payment_refunded",
    "payment, amount: Stripe reported a larger cumulative refund for a payment; `amount` is what "
    "was newly refunded (minor units).",
)
