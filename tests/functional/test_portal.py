"""Customer portal: lists, new ticket, conversation, close and reopen."""

import re

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.tickets import lifecycle as ticket_service
from helpdesk.tickets import merging
from helpdesk.tickets.models import Message, Ticket


def _new(client, ref, **overrides):
    data = {
        "category": ref.categories["IT"].id,
        "priority": ref.priorities["Normal"].id,
        "subject": "Printer offline",
        "body": "Since this morning.",
        "submission_key": "key-1",
    }
    data.update(overrides)
    return client.post("/portal/tickets/new", data=data)


def _count():
    return db.session.scalar(db.select(db.func.count(Ticket.id)))


def test_a_subject_or_description_of_only_spaces_is_refused_and_kept(client, login, make, ref):
    login(make.customer())
    text = _new(client, ref, subject="   ", body=" \n\t ").get_data(as_text=True)
    assert "Subject is required." in text and "Describe the problem is required." in text
    assert _count() == 0
    from helpdesk.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="Give the ticket a subject."):  # the API's path too
        ticket_service.create_ticket(
            make.customer(),
            subject=" ",
            body="x",
            category_id=ref.categories["IT"].id,
            priority_id=ref.priorities["Normal"].id,
        )


def test_new_ticket_sets_due_time_from_the_priority(client, login, make, ref):
    login(make.customer())
    _new(client, ref, priority=ref.priorities["Low"].id)  # free on the default plan
    ticket = db.session.scalar(db.select(Ticket))
    assert (ticket.due_at - ticket.created_at).total_seconds() == 3 * 24 * 3600
    assert ticket.status == "new"


def test_invalid_form_keeps_every_field(client, login, make, ref):
    login(make.customer())
    response = _new(client, ref, body="", subject="Keep me <please>")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Keep me &lt;please&gt;"' in text
    assert f'<option selected value="{ref.categories["IT"].id}">' in text
    assert "Describe the problem is required." in text  # the field named, not "This field"
    assert _count() == 0


def test_archived_category_is_refused_with_a_message(client, login, make, ref):
    login(make.customer())
    ref.categories["Sales"].archived = True
    db.session.commit()
    text = _new(client, ref, category=ref.categories["Sales"].id).get_data(as_text=True)
    assert "Category: choose one of the listed options." in text
    assert _count() == 0


def _category_options(page):
    select = page.split('id="category"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option( selected)? value="([^"]*)">([^<]*)</option>', select)


def test_the_category_is_chosen_not_taken_from_the_top_of_the_list(client, login, make, ref):
    """A form that opened on its first category (Billing) had tickets filed there by customers who
    did not look, where the agents of the right category never see them."""
    login(make.customer())
    options = _category_options(client.get("/portal/tickets/new").get_data(as_text=True))
    assert options[0] == (" selected", "", "Choose a category")
    assert [name for _selected, _value, name in options[1:]] == ["Billing", "IT", "Sales"]
    assert not any(selected for selected, _value, _name in options[1:])
    for missing in ({"category": ""}, {"category": None}):
        data = {k: v for k, v in missing.items() if v is not None}
        answer = (
            _new(client, ref, subject="Keep me", **data)
            if data
            else client.post(
                "/portal/tickets/new",
                data={
                    "priority": ref.priorities["Normal"].id,
                    "subject": "Keep me",
                    "body": "Still here.",
                    "submission_key": "k",
                },
            )
        )
        text = answer.get_data(as_text=True)
        assert answer.status_code == 200 and "Category is required." in text
        assert 'value="Keep me"' in text
    assert _count() == 0
    it = ref.categories["IT"].id  # a link may name the category ("New ticket" from an IT article)
    linked = _category_options(client.get(f"/portal/tickets/new?category={it}").get_data(as_text=True))
    assert (" selected", str(it), "IT") in linked and ("", "", "Choose a category") in linked


def _category_help(page):
    """{name: description} of the help beside the category list, and whether the list points at it."""
    if 'id="category-help"' not in page:
        return {}, False
    block = page.split('id="category-help"', 1)[1].split("</dl>", 1)[0]
    select = re.search(r'<select[^>]*id="category"[^>]*>', page)[0]
    return dict(
        re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block)
    ), 'aria-describedby="category-help"' in select


def test_the_form_says_what_each_category_is_for(client, login, make, ref):
    """The customer must choose a category: each active one's description is read beside the
    list (and announced with it), escaped; an archived one's is not shown."""
    ref.categories["Billing"].description = "Invoices & <refunds>."
    ref.categories["Sales"].archived = True
    ref.categories["IT"].description = "Laptops, VPN."
    db.session.commit()
    login(make.customer())
    help_, announced = _category_help(client.get("/portal/tickets/new").get_data(as_text=True))
    assert help_ == {"Billing": "Invoices &amp; &lt;refunds&gt;.", "IT": "Laptops, VPN."} and announced
    refused = _new(client, ref, category="").get_data(as_text=True)  # still there beside the error
    assert "Category is required." in refused
    assert 'aria-describedby="category-help category-errors"' in refused
    assert _category_help(refused)[0]["IT"] == "Laptops, VPN."


def test_no_description_no_help(client, login, make, ref):
    for category in ref.categories.values():
        category.description = ""
    db.session.commit()
    login(make.customer())
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    assert _category_help(page) == ({}, False) and "What each category is for" not in page
    assert "aria-describedby" not in re.search(r'<select[^>]*id="category"[^>]*>', page)[0]


def test_a_desk_with_one_category_has_nothing_to_choose(client, login, make, ref):
    login(make.customer())
    for name in ("Billing", "Sales"):
        ref.categories[name].archived = True
    db.session.commit()
    options = _category_options(client.get("/portal/tickets/new").get_data(as_text=True))
    assert options == [(" selected", str(ref.categories["IT"].id), "IT")]
    _new(client, ref)
    assert _count() == 1


def test_double_submission_creates_one_ticket(client, login, make, ref):
    login(make.customer())
    first = _new(client, ref)
    second = _new(client, ref)
    assert first.location == second.location
    assert _count() == 1
    assert "already submitted" in client.get(second.location).get_data(as_text=True)


def test_my_tickets_is_paginated_and_searchable(client, login, make, ref):
    user = make.customer()
    for n in range(30):
        make.ticket(
            requester=user,
            subject=f"Issue number {n:02d}",
            category=ref.categories["IT"],
            priority=ref.priorities["Low"],
        )
    login(user)
    first = client.get("/portal/tickets").get_data(as_text=True)
    assert "Page 1 of 2" in first and first.count("Issue number") == 25
    second = client.get("/portal/tickets?page=2").get_data(as_text=True)
    assert second.count("Issue number") == 5
    found = client.get("/portal/tickets?q=number 07").get_data(as_text=True)
    assert "Issue number 07" in found and "Issue number 08" not in found
    wildcard = client.get("/portal/tickets?q=%25").get_data(as_text=True)
    assert "No tickets here" in wildcard


def test_my_tickets_finds_a_ticket_by_its_number(client, login, make, ref):
    user, other = make.customer(), make.customer()
    kw = {"category": ref.categories["IT"], "priority": ref.priorities["Low"]}
    mine = make.ticket(requester=user, subject="Printer offline", **kw)
    theirs = make.ticket(requester=other, subject="Not yours", **kw)
    login(user)
    for q in (str(mine.id), f"%23{mine.id}", f"%23 {mine.id}"):
        found = client.get(f"/portal/tickets?state=all&q={q}").get_data(as_text=True)
        assert "Printer offline" in found, q
    hidden = client.get(f"/portal/tickets?state=all&q={theirs.id}").get_data(as_text=True)
    assert "Not yours" not in hidden and "No tickets here" in hidden  # the number of someone else's


def test_filter_open_and_closed(client, login, make, ref):
    user = make.customer()
    make.ticket(
        requester=user, subject="Still open", category=ref.categories["IT"], priority=ref.priorities["Low"]
    )
    make.ticket(
        requester=user,
        subject="All done",
        status="closed",
        category=ref.categories["IT"],
        priority=ref.priorities["Low"],
    )
    login(user)
    open_list = client.get("/portal/tickets").get_data(as_text=True)
    closed_list = client.get("/portal/tickets?state=closed").get_data(as_text=True)
    assert "Still open" in open_list and "All done" not in open_list
    assert "All done" in closed_list and "Still open" not in closed_list


def test_list_filter_by_htmx_returns_only_the_table(client, login, make, ref):
    user = make.customer()
    make.ticket(
        requester=user, subject="Fragment me", category=ref.categories["IT"], priority=ref.priorities["Low"]
    )
    login(user)
    response = client.get("/portal/tickets?q=Fragment", headers={"HX-Request": "true"})
    text = response.get_data(as_text=True)
    assert "<html" not in text and 'id="ticket-list"' in text and "Fragment me" in text
    assert "HX-Request" in response.headers["Vary"]


def test_following_tab_and_organization_tab(client, login, make, ref):
    acme = make.OrganizationFactory()
    carol = make.customer(organization=acme, is_org_manager=True)
    dave = make.customer(organization=acme)
    john = make.customer()
    daves = make.ticket(
        requester=dave, subject="Dave's laptop", category=ref.categories["IT"], priority=ref.priorities["Low"]
    )
    make.subscribe(daves, john)
    login(carol)
    assert "Dave&#39;s laptop" in client.get("/portal/tickets?scope=organization").get_data(as_text=True)
    login(john)
    assert "Dave&#39;s laptop" in client.get("/portal/tickets?scope=following").get_data(as_text=True)
    assert "Dave&#39;s laptop" not in client.get("/portal/tickets").get_data(as_text=True)
    login(dave)
    assert "scope=organization" not in client.get("/portal/tickets").get_data(as_text=True)


@pytest.fixture
def own_ticket(make, ref):
    user = make.customer()
    ticket = make.ticket(requester=user, category=ref.categories["IT"], priority=ref.priorities["Low"])
    return user, ticket


def test_reply_with_htmx_swaps_the_conversation(client, login, own_ticket):
    user, ticket = own_ticket
    login(user)
    response = client.post(
        f"/portal/tickets/{ticket.id}/reply", data={"body": "More details"}, headers={"HX-Request": "true"}
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in text
    assert 'id="conversation"' in text and "More details" in text
    assert "HX-Request" in response.headers["Vary"]


def test_reply_without_javascript_redirects_back(client, login, own_ticket):
    user, ticket = own_ticket
    login(user)
    response = client.post(f"/portal/tickets/{ticket.id}/reply", data={"body": "Plain post"})
    assert response.status_code == 302
    assert "Plain post" in client.get(response.location).get_data(as_text=True)


def test_empty_reply_shows_an_error_and_saves_nothing(client, login, own_ticket):
    user, ticket = own_ticket
    login(user)
    text = client.post(
        f"/portal/tickets/{ticket.id}/reply", data={"body": "  "}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Your reply is required." in text or "Write a message" in text
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_internal_notes_never_reach_the_customer(client, login, make, own_ticket, ref):
    user, ticket = own_ticket
    agent = make.technician(ref.categories["IT"])
    ticket_service.add_message(ticket, agent, "Secret triage note", internal=True)
    ticket_service.add_message(ticket, agent, "Public answer")
    db.session.commit()
    login(user)
    text = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "Public answer" in text and "Secret triage note" not in text


def test_customer_reply_reopens_a_ticket_waiting_on_them(client, login, own_ticket):
    user, ticket = own_ticket
    ticket.status = "waiting"
    db.session.commit()
    login(user)
    client.post(f"/portal/tickets/{ticket.id}/reply", data={"body": "Here you go"})
    assert db.session.get(Ticket, ticket.id).status == "open"


def test_close_and_reopen(client, login, own_ticket):
    user, ticket = own_ticket
    login(user)
    client.post(f"/portal/tickets/{ticket.id}/close")
    assert db.session.get(Ticket, ticket.id).status == "closed"
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "Reopen ticket" in page and "Send reply" not in page
    refused = client.post(f"/portal/tickets/{ticket.id}/reply", data={"body": "late"}).get_data(as_text=True)
    assert "closed" in refused.lower()
    client.post(f"/portal/tickets/{ticket.id}/reopen")
    assert db.session.get(Ticket, ticket.id).status == "open"


def test_a_second_reopen_says_the_ticket_is_already_open(client, login, own_ticket):
    user, ticket = own_ticket
    login(user)
    client.post(f"/portal/tickets/{ticket.id}/close", follow_redirects=True)
    client.post(f"/portal/tickets/{ticket.id}/reopen", follow_redirects=True)
    page = client.post(f"/portal/tickets/{ticket.id}/reopen", follow_redirects=True).get_data(as_text=True)
    assert f"Ticket #{ticket.id} is already open." in page and "reopened." not in page


def test_a_reply_sent_after_the_ticket_closed_is_kept_and_sent_with_the_reopening(client, login, own_ticket):
    user, ticket = own_ticket
    login(user)
    client.post(f"/portal/tickets/{ticket.id}/close")  # in another tab
    refused = client.post(
        f"/portal/tickets/{ticket.id}/reply", data={"body": "One more detail: it is the VPN."}
    )
    page = refused.get_data(as_text=True)
    assert "This ticket is closed. Reopen it to reply." in page
    assert "One more detail: it is the VPN.</textarea>" in page and "Reopen and send reply" in page
    assert db.session.scalar(select(func.count(Message.id)).where(Message.ticket_id == ticket.id)) == 0
    sent = client.post(
        f"/portal/tickets/{ticket.id}/reply", data={"body": "One more detail: it is the VPN.", "reopen": "1"}
    )
    assert sent.status_code == 302
    db.session.expire_all()
    reopened = db.session.get(Ticket, ticket.id)
    assert reopened.status == "open"
    assert [m.body for m in reopened.messages] == ["One more detail: it is the VPN."]


def test_a_follower_s_reply_to_a_closed_ticket_is_shown_back_not_lost(client, login, make, own_ticket):
    _, ticket = own_ticket
    follower = make.customer()
    make.subscribe(ticket, follower)
    ticket.status = "closed"
    db.session.commit()
    login(follower)
    page = client.post(f"/portal/tickets/{ticket.id}/reply", data={"body": "Me too", "reopen": "1"})
    text = page.get_data(as_text=True)
    assert "Your reply (not sent)" in text and ">Me too</textarea>" in text
    assert "Reopen and send reply" not in text
    assert db.session.get(Ticket, ticket.id).status == "closed"


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_reply_to_a_ticket_merged_meanwhile_is_shown_back_not_lost(client, login, make, own_ticket, htmx):
    user, ticket = own_ticket
    kept = make.ticket(requester=user, category=ticket.category, priority=ticket.priority)
    db.session.commit()
    login(user)
    merging.merge(ticket, kept, make.admin())  # an agent merges it while the customer types
    db.session.commit()
    headers = {"HX-Request": "true"} if htmx else {}
    refused = client.post(
        f"/portal/tickets/{ticket.id}/reply", data={"body": "It is the VPN."}, headers=headers
    )
    page = refused.get_data(as_text=True)
    assert f'merged into <a href="/portal/tickets/{kept.id}">#{kept.id}</a>' in page
    assert "Your reply was not sent: copy it into a reply there." in page
    assert "Your reply (not sent)" in page and ">It is the VPN.</textarea>" in page
    assert db.session.scalar(select(func.count(Message.id)).where(Message.body == "It is the VPN.")) == 0


def test_subscriber_can_reply_but_not_close(client, login, make, own_ticket):
    _, ticket = own_ticket
    follower = make.customer()
    make.subscribe(ticket, follower)
    login(follower)
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert "You follow this ticket" in page and "Close ticket" not in page
    assert client.post(f"/portal/tickets/{ticket.id}/reply", data={"body": "Me too"}).status_code == 302
    client.post(f"/portal/tickets/{ticket.id}/close")
    assert db.session.get(Ticket, ticket.id).status == "new"


def test_a_subscriber_stops_following_after_a_question_and_gets_no_more_mail(client, login, make, own_ticket):
    from helpdesk.mail.models import OutboxMessage
    from helpdesk.tickets import lifecycle
    from helpdesk.tickets.models import TicketEvent

    owner, ticket = own_ticket
    follower = make.customer(email="cc@example.test")
    make.subscribe(ticket, follower)
    login(follower)
    page = client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    assert f'action="/portal/tickets/{ticket.id}/stop-following"' in page and "Stop following" in page
    asked = client.post(f"/portal/tickets/{ticket.id}/stop-following").get_data(as_text=True)
    assert f"Stop following ticket #{ticket.id}?" in asked and "no more mail" in asked
    assert [s.user_id for s in db.session.get(Ticket, ticket.id).subscriptions] == [follower.id]
    done = client.post(f"/portal/tickets/{ticket.id}/stop-following", data={"confirmed_action": "yes"})
    assert done.status_code == 302 and done.headers["Location"] == "/portal/tickets"
    assert f"You no longer follow ticket #{ticket.id}" in client.get("/portal/tickets").get_data(as_text=True)
    assert client.get(f"/portal/tickets/{ticket.id}").status_code == 404  # no longer theirs to see
    db.session.expire_all()
    item = db.session.get(Ticket, ticket.id)
    assert item.subscriptions == []
    assert (
        db.session.scalar(
            db.select(TicketEvent.old_value).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.field == "subscriber removed"
            )
        )
        == "cc@example.test"
    )
    lifecycle.add_message(item, make.technician(item.category), "Fixed.")
    db.session.commit()
    assert (
        db.session.scalar(
            db.select(OutboxMessage.id).where(
                OutboxMessage.to_addr == "cc@example.test", OutboxMessage.kind == "public_reply"
            )
        )
        is None
    )


def test_stop_following_sent_twice_says_it_is_done_instead_of_not_found(client, login, make, own_ticket):
    _, ticket = own_ticket
    follower = make.customer()
    make.subscribe(ticket, follower)
    db.session.commit()
    login(follower)
    url = f"/portal/tickets/{ticket.id}/stop-following"
    assert client.post(url, data={"confirmed_action": "yes"}).status_code == 302
    again = client.post(url, data={"confirmed_action": "yes"})  # a double click without JavaScript
    assert again.status_code == 302 and again.headers["Location"] == "/portal/tickets"
    assert f"You no longer follow ticket #{ticket.id}." in client.get("/portal/tickets").get_data(
        as_text=True
    )
    assert client.get(f"/portal/tickets/{ticket.id}").status_code == 404  # still not theirs to see
    login(make.customer())  # someone who never followed it learns nothing
    assert client.post(url, data={"confirmed_action": "yes"}).status_code == 404


def test_the_requester_cannot_stop_following_their_own_ticket(client, login, own_ticket):
    owner, ticket = own_ticket
    login(owner)
    assert "Stop following" not in client.get(f"/portal/tickets/{ticket.id}").get_data(as_text=True)
    refused = client.post(
        f"/portal/tickets/{ticket.id}/stop-following", data={"confirmed_action": "yes"}, follow_redirects=True
    )
    assert "You do not follow this ticket" in refused.get_data(as_text=True)


@pytest.mark.parametrize("path", ["", "/reply", "/close", "/reopen", "/stop-following"])
def test_someone_elses_ticket_answers_404(client, login, make, own_ticket, path):
    _, ticket = own_ticket
    login(make.customer())
    method = client.get if path == "" else client.post
    assert method(f"/portal/tickets/{ticket.id}{path}", data={"body": "x"}).status_code == 404
    assert method(f"/portal/tickets/99999{path}", data={"body": "x"}).status_code == 404


def test_anonymous_is_sent_to_login(client, own_ticket):
    _, ticket = own_ticket
    response = client.get(f"/portal/tickets/{ticket.id}")
    assert response.status_code == 302 and "/login?next=" in response.location


def test_resent_reply_form_adds_one_message(client, login, own_ticket):
    user, ticket = own_ticket
    login(user)
    for _ in range(2):
        client.post(
            f"/portal/tickets/{ticket.id}/reply", data={"body": "Only once", "submission_key": "reply-1"}
        )
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 1
