"""Customer portal views: my tickets, new ticket, ticket page, reply, close and reopen."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from helpdesk import policy
from helpdesk.actions import perform
from helpdesk.confirming import Instead, ask_first, confirmed
from helpdesk.credits import credit_requests, submission, switching
from helpdesk.credits import quotes as credit_quotes
from helpdesk.credits.panels import (
    asked_message,
    buy_credits_url,
    funding_for,
    plan_switch_url,
    ticket_credit_context,
)
from helpdesk.htmx import render_page_or_block
from helpdesk.kb import tracking
from helpdesk.mail import inbound_tickets
from helpdesk.querying import id_of, row_id
from helpdesk.tickets import drafts, search, thread_window
from helpdesk.tickets import lifecycle as tickets
from helpdesk.tickets.attachments import stage_form_files
from helpdesk.tickets.blueprints import portal_bp as bp
from helpdesk.tickets.forms import (
    DRAFT_NEXT,
    NewTicketForm,
    ReplyForm,
    TicketDraftForm,
    TicketListFilter,
    new_submission_key,
    offer_categories,
)
from helpdesk.tickets.models import STATUS_CLOSED
from helpdesk.tickets.panels import remember_for_purchase
from helpdesk.web import page_number, paginate


@bp.get("/")
def home():
    return redirect(url_for("tickets_portal.tickets"))


@bp.get("/tickets", endpoint="tickets")
def ticket_list():
    filters = TicketListFilter(request.args)
    query = tickets.portal_ticket_query(current_user, scope=filters.scope, state=filters.state, q=filters.q)
    page = paginate(query, page=filters.page)
    return render_page_or_block(
        "tickets/portal/tickets.html",
        "ticket_list",
        page=page,
        filters=filters,
        search_hint=search.wordless_query_hint(filters.q),
        is_manager=policy.manages_organization(current_user),
    )


def _new_ticket_choices(form):
    """Categories, and the priorities of the customer's plan (server-computed)."""
    categories = tickets.active_categories()
    offer_categories(form.category, categories)
    form.category.rows = categories  # held for the request: the service finds its category loaded
    form.priority.choices = [(p.id, p.name) for p in credit_quotes.priorities_for(current_user)]


def _render_new_ticket(form, staged=(), upload_errors=(), draft=None, submitted_draft=None):
    # With prices, balance and due times on the chosen category's calendar, as of now.
    quotes = credit_quotes.quotes_for(current_user, category_id=form.category.data)
    selected = next((q for q in quotes if q.priority.id == form.priority.data), None)
    form.quoted.data = credit_quotes.shown_prices(quotes)  # the prices of this page, not of the last
    return render_template(
        "tickets/portal/new_ticket.html",
        form=form,
        quotes=quotes,
        quote=selected,
        locked=switching.locked_priorities(current_user, category_id=form.category.data),
        switch_url=plan_switch_url(current_user),
        buy_url=buy_credits_url(),
        funding=funding_for(current_user),
        draft_endpoint="tickets_portal.save_draft",
        draft=draft,
        submitted_draft=submitted_draft,  # the ticket a draft named by ?draft= was submitted as
        staged=list(staged),
        upload_errors=list(upload_errors),
        # The suggestions beside the subject carry the form's key, signed: only forms handed out
        # here count deflections (kb/tracking.py).
        suggest_url=url_for("kb.suggest", form=tracking.form_token(current_user, form.submission_key.data)),
    )


def _fill_from_draft(form, draft):
    """The form as the draft kept it; its priority chosen again when the bank now covers it."""
    form.submission_key.data = draft.submission_key
    form.category.data = draft.category_id or form.category.data  # the one category, if one
    form.subject.data, form.body.data = draft.subject, draft.body
    quote = credit_quotes.quote_for(current_user, draft.priority_id, category_id=draft.category_id)
    wanted = draft.priority_id if quote is not None and quote.available else None
    form.priority.data = credit_quotes.default_choice(credit_quotes.priorities_for(current_user), wanted)


def _blank_or_draft_form(form):
    """GET: a fresh form (category, priority and subject from the query: the knowledge base's "Ask
    us in a ticket" carries the reader's search and category), or the draft named by ?draft=."""
    draft_id = request.args.get("draft", type=row_id)
    draft = drafts.get_draft(current_user, draft_id) if draft_id else None
    if draft is not None:
        _fill_from_draft(form, draft)
        return _render_new_ticket(form, drafts.staged_files(draft), draft=draft)
    submitted = drafts.submitted_as(current_user, draft_id) if draft_id else None
    if draft_id and submitted is None:
        flash("That draft is no longer kept (drafts last a day): please fill in the form again.", "info")
    form.submission_key.data = new_submission_key()
    form.category.data = request.args.get("category", type=row_id) or form.category.data
    form.subject.data = " ".join(request.args.get("subject", "").split())[:200]
    wanted = request.args.get("priority", type=row_id)
    form.priority.data = credit_quotes.default_choice(credit_quotes.priorities_for(current_user), wanted)
    return _render_new_ticket(form, submitted_draft=submitted)  # a blank form under its notice


@bp.route("/tickets/new", methods=["GET", "POST"])
def new_ticket():
    form = NewTicketForm()
    _new_ticket_choices(form)
    if request.method == "GET":
        return _blank_or_draft_form(form)
    key = form.submission_key.data or new_submission_key()
    form.submission_key.data = key
    staged, upload_errors = stage_form_files(key)
    if form.validate_on_submit() and not upload_errors:
        asked = _ask_about_twin(form, key)
        if asked is not None:
            return asked
        outcome = perform(
            submission.submit_ticket,
            current_user,
            subject=form.subject.data,
            body=form.body.data,
            category_id=form.category.data,
            priority_id=form.priority.data,
            submission_key=key,
            shown_cost=credit_quotes.shown_price(form.quoted.data, form.priority.data),
        )
        if not outcome.ok:
            form.form_errors.append(outcome.message)
        else:
            ticket, created = outcome.value
            ticket_id = id_of(ticket)  # committed: read without loading it again
            done = "submitted" if created else "was already submitted"
            flash(f"Ticket #{ticket_id} {done}.", "success")
            return redirect(url_for("tickets_portal.ticket", ticket_id=ticket_id))
    _name_a_locked_priority(form)
    return _render_new_ticket(form, staged, upload_errors), 200


def _name_a_locked_priority(form):
    """A priority the plan does not offer, sent anyway (without JavaScript, or from a page shown
    before a plan change): one message that names it, instead of "choose one of the listed
    options", which does not say why (the form lists it, with its plan, as not on this plan)."""
    wanted = request.form.get("priority", type=row_id)
    if not form.priority.errors or wanted is None:
        return
    for locked in switching.locked_priorities(current_user):
        if locked.priority.id == wanted:
            form.priority.errors[:] = [
                f"{locked.priority.name} is not on your plan: choose one of its priorities."
            ]
            return


def _ask_about_twin(form, key):
    """The same ticket as one this customer submitted moments ago, from another form (Back, then
    Submit: the page came anew, with a new key), is asked about before anything is opened or
    charged: open the first one, or submit again anyway (the question's form carries every field
    and the key, so nothing typed or attached is lost). None: nothing to ask."""
    if confirmed():
        return None
    twin = tickets.recent_twin(
        current_user,
        subject=form.subject.data,
        body=form.body.data,
        category_id=form.category.data,
        submission_key=key,
    )
    if twin is None:
        return None
    quote = credit_quotes.quote_for(current_user, form.priority.data, category_id=form.category.data)
    return ask_first(
        f"You submitted this ticket a moment ago as #{twin.id}",
        f"#{twin.id} “{twin.subject}” ({twin.priority.name}, {submission.charged_text(twin)}). Submitting"
        f" it again opens a second ticket {submission.again_text(quote)}; nothing has been charged for it yet.",
        "Submit it again anyway",
        danger=False,
        instead=Instead(
            f"Open #{twin.id}", url_for("tickets_portal.ticket", ticket_id=twin.id), method="get"
        ),
    )


@bp.post("/tickets/new/draft")
def save_draft():
    """Keep the form as a draft, then go on to buy credits (and come back), or to switch plan."""
    form = TicketDraftForm()
    then = request.args.get("then")
    if then not in DRAFT_NEXT or not form.validate_on_submit():
        return _draft_refused()
    key = form.submission_key.data
    _staged, upload_errors = stage_form_files(key)
    outcome = perform(
        drafts.save_draft,
        current_user,
        submission_key=key,
        subject=form.subject.data,
        body=form.body.data,
        category_id=form.category.data,
        priority_id=request.args.get("wanted", type=row_id) or form.priority.data,
    )
    if not outcome.ok:
        return _draft_refused()
    for message in upload_errors:
        flash(f"Not kept with the draft: {message}", "error")
    return _after_draft(outcome.value, then)


def _draft_refused():
    """The form again as it was sent (nothing lost), saying why it could not be kept."""
    form = NewTicketForm()
    _new_ticket_choices(form)
    form.submission_key.data = form.submission_key.data or new_submission_key()
    staged, upload_errors = stage_form_files(form.submission_key.data)
    form.form_errors.append("The draft could not be kept: check the form and try again.")
    return _render_new_ticket(form, staged, upload_errors), 200


def _after_draft(draft, then):
    if then == "plan":
        return redirect(url_for("credits_portal.plans", draft=draft.id))
    if then == "ask":
        return _ask_a_manager(draft)
    remember_for_purchase(draft)
    flash("Your ticket is kept as a draft for a day: once your credits are in, you are back on it.", "info")
    return redirect(url_for("billing.index"))


def _ask_a_manager(draft):
    """Send the managers the member's request for what the draft's priority lacks; back to the draft."""
    outcome = perform(credit_requests.ask_for_draft, current_user, draft)
    if not outcome.ok:
        flash(outcome.message, "error")
    else:
        flash(asked_message(outcome.value) + " Your ticket is kept as a draft for a day.", "success")
    return redirect(url_for("tickets_portal.new_ticket", draft=draft.id))


def _follow_up_by_mail(ticket):
    """Whether answering the closed ticket's mail opens a follow-up for the current user, as the
    inbound mail does it (mail/inbound_tickets.open_follow_up): they may (policy.can_follow_up)
    and the requester's plan has a free priority for it (nothing is charged by mail)."""
    if not policy.can_follow_up(current_user, ticket):
        return False
    return inbound_tickets.free_priority(ticket.requester) is not None


def _ticket_context(ticket, reply_form=None, upload_errors=()):
    reply_form = reply_form or ReplyForm(formdata=None)
    if not reply_form.submission_key.data:
        reply_form.submission_key.data = new_submission_key()
    conversation, earlier = tickets.conversation_for(current_user, ticket, thread_window.latest_shown())
    return dict(
        ticket=ticket,
        conversation=conversation,
        earlier_messages=earlier,  # left out of a long conversation (thread_window)
        original_files=tickets.description_files(ticket),
        whole_thread=thread_window.whole_thread(),
        reply_form=reply_form,
        upload_errors=list(upload_errors),
        can_reply=policy.can_reply(current_user, ticket),
        can_close=policy.can_close_or_reopen(current_user, ticket),
        follow_up_by_mail=ticket.status == STATUS_CLOSED and _follow_up_by_mail(ticket),
        subscriber_only=policy.is_subscriber_only(current_user, ticket),
        credit=ticket_credit_context(current_user, ticket, page=page_number(request.args)),
    )


@bp.get("/tickets/<int:ticket_id>")
def ticket(ticket_id):
    item = policy.get_ticket_or_404(current_user, ticket_id)
    return render_page_or_block("tickets/portal/ticket.html", "conversation", **_ticket_context(item))


ALREADY_SENT = "Your reply was already sent (it is in the conversation): it was not sent again."


@bp.post("/tickets/<int:ticket_id>/reply")
def reply(ticket_id):
    item = policy.get_ticket_or_404(current_user, ticket_id)
    form = ReplyForm()
    key = form.submission_key.data or new_submission_key()
    staged, upload_errors = stage_form_files(key)
    send = tickets.send_message
    if request.form.get("reopen") and not item.is_open and policy.can_close_or_reopen(current_user, item):
        send = tickets.reopen_and_reply  # the reply kept when the ticket closed under it
    notice = None
    if form.validate_on_submit() and not upload_errors:
        # repeat_guard: the same reply again within minutes (Back, then Send) is not posted twice
        outcome = perform(send, item, current_user, form.body.data, staging_key=key, repeat_guard=True)
        if not outcome.ok:
            form.body.errors.append(outcome.message)
        else:
            _message, created = outcome.value
            notice = "Reply sent." if created else ALREADY_SENT
            if not request.htmx:
                flash(notice, "success" if created else "info")
                return redirect(thread_window.conversation_url("tickets_portal.ticket", ticket_id=item.id))
            form = None
    context = _ticket_context(item, form, upload_errors)
    context["staged"] = staged if form is not None else []
    context["reply_notice"] = notice if notice == ALREADY_SENT else None
    return render_page_or_block("tickets/portal/ticket.html", "conversation", **context)


def _change_state(ticket_id, service, done, already):
    """Close or reopen through `service`, flash the outcome, back to the ticket (no-JS friendly);
    a second press (another tab, a reload) says the ticket already was in that state."""
    item = policy.get_ticket_or_404(current_user, ticket_id)
    before = item.status
    outcome = perform(service, item, current_user)
    if outcome.ok and item.status == before:
        flash(f"Ticket #{item.id} is already {already}.", "info")
    elif outcome.ok:
        flash(f"Ticket #{item.id} {done}.", "success")
    else:
        flash(outcome.message, "error")
    return redirect(url_for("tickets_portal.ticket", ticket_id=item.id))


@bp.post("/tickets/<int:ticket_id>/close")
def close(ticket_id):
    return _change_state(ticket_id, tickets.close_ticket, "closed", "closed")


@bp.post("/tickets/<int:ticket_id>/reopen")
def reopen(ticket_id):
    return _change_state(ticket_id, tickets.reopen_ticket, "reopened", "open")
