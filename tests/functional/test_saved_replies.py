"""Saved replies (issue 16 item 1): shared per category or personal, placeholders filled by plain
substitution, a picker beside the reply box and a select with "Insert" in the reply form (without
JavaScript), usage counts; every surface follows policy (another category's or agent's reply is
missing: 404, never listed or offered)."""

import html
import re

from helpdesk.extensions import db
from helpdesk.replies.models import SavedReply
from helpdesk.tickets.models import Message

from .agent_support import HTMX


def _reply(title, body, *, category=None, owner=None, uses=0):
    reply = SavedReply(
        title=title,
        body=body,
        category_id=category.id if category else None,
        owner_id=owner.id if owner else None,
        use_count=uses,
    )
    db.session.add(reply)
    db.session.commit()
    return reply


def _count():
    return db.session.scalar(db.select(db.func.count(SavedReply.id)))


def _textarea(page):
    found = re.search(r'<textarea id="reply-body"[^>]*>\n?(.*?)</textarea>', page, re.S)
    return html.unescape(found.group(1))


def test_a_technician_saves_a_personal_reply_only_they_see(client, login, desk):
    login(desk.tech_it)
    page = client.get("/agent/replies/new").get_data(as_text=True)
    assert "Everyone working IT" in page and "Everyone working Sales" not in page  # only their categories
    answer = client.post(
        "/agent/replies/new",
        data={
            "title": "Restart first",
            "body": "Hi {customer_first_name}, please restart.",
            "scope": "personal",
        },
    )
    assert answer.status_code == 302
    assert "Restart first" in client.get("/agent/replies/").get_data(as_text=True)
    reply = db.session.scalar(db.select(SavedReply))
    assert reply.owner_id == desk.tech_it.id and reply.category_id is None

    for other in (desk.tech_sales, desk.admin):  # personal means personal, admins included
        login(other)
        assert "Restart first" not in client.get("/agent/replies/").get_data(as_text=True)
        assert client.get(f"/agent/replies/{reply.id}/edit").status_code == 404
        assert (
            client.post(f"/agent/replies/{reply.id}/delete", data={"confirmed_action": "yes"}).status_code
            == 404
        )
        assert client.post(f"/agent/replies/{reply.id}/used").status_code == 404
    assert _count() == 1


def test_a_shared_reply_is_kept_by_its_category_and_invisible_to_others(client, login, desk):
    shared = _reply("VPN reset", "Reset your VPN profile.", category=desk.it)
    login(desk.tech_sales)
    assert "VPN reset" not in client.get("/agent/replies/").get_data(as_text=True)
    assert client.get(f"/agent/replies/{shared.id}/edit").status_code == 404
    login(desk.admin)  # admins keep every category's shared replies
    assert client.get(f"/agent/replies/{shared.id}/edit").status_code == 200
    login(desk.tech_it)
    answer = client.post(
        f"/agent/replies/{shared.id}/edit",
        data={"title": "VPN profile reset", "body": "Reset the profile.", "scope": str(desk.it.id)},
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.get(SavedReply, shared.id).title == "VPN profile reset"


def test_sharing_in_a_category_one_does_not_work_is_refused_and_saves_nothing(client, login, desk):
    login(desk.tech_sales)
    answer = client.post(
        "/agent/replies/new", data={"title": "Sneaky", "body": "Text", "scope": str(desk.it.id)}
    )
    assert answer.status_code == 422
    assert "Who may use it: choose one of the listed options." in answer.get_data(as_text=True)
    assert _count() == 0


def test_bad_input_names_the_field_keeps_what_was_typed_and_saves_nothing(client, login, desk):
    login(desk.tech_it)
    answer = client.post("/agent/replies/new", data={"title": "", "body": "", "scope": "personal"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Give the saved reply a title." in text and "Write the text to insert." in text
    long = client.post(
        "/agent/replies/new", data={"title": "Long", "body": "x" * 10_001, "scope": "personal"}
    )
    text = long.get_data(as_text=True)
    assert long.status_code == 422 and "10000" in text.replace(",", "") and 'value="Long"' in text
    assert _count() == 0


def test_an_unknown_placeholder_or_a_title_already_in_the_picker_is_refused(client, login, desk):
    login(desk.tech_it)
    typo = client.post(
        "/agent/replies/new",
        data={"title": "Hello", "body": "Hi {foo}, see {ticket_id}", "scope": "personal"},
    )
    text = typo.get_data(as_text=True)
    assert typo.status_code == 422 and "Unknown placeholder {foo}: use one of {customer_name}" in text
    assert "Hi {foo}, see {ticket_id}</textarea>" in text and _count() == 0
    shared = {"title": "Thanks, closing", "body": "Thank you.", "scope": str(desk.it.id)}
    assert client.post("/agent/replies/new", data=shared).status_code == 302
    again = client.post("/agent/replies/new", data=shared | {"title": "thanks, CLOSING"})
    assert "A saved reply called “thanks, CLOSING” already exists in this category" in again.get_data(
        as_text=True
    )
    personal = client.post("/agent/replies/new", data=shared | {"scope": "personal"})
    assert personal.status_code == 302 and _count() == 2  # the same title as a personal reply: fine


def _errors_of(page, field):
    """The messages shown under `field` (its <ul class="errors" id="…-errors">), unescaped."""
    found = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))) if found else ""


def test_each_refusal_is_shown_under_the_field_it_is_about(client, login, desk):
    """An unknown placeholder under Text, a taken title under Title, with or without htmx, on a
    new reply and on an edit; never under "Who may use it"."""
    login(desk.tech_it)
    taken = _reply("Thanks", "Thank you.", owner=desk.tech_it)
    other = _reply("Other", "Other text.", owner=desk.tech_it)
    for headers in ({}, HTMX):
        for url in ("/agent/replies/new", f"/agent/replies/{other.id}/edit"):
            typo = client.post(
                url,
                data={"title": "Hello", "body": "Hello {Customer_Name}", "scope": "personal"},
                headers=headers,
            )
            page = typo.get_data(as_text=True)
            assert typo.status_code == 422
            assert "Unknown placeholder {Customer_Name}" in _errors_of(page, "body")
            assert _errors_of(page, "scope") == "" and _errors_of(page, "title") == ""
            again = client.post(
                url, data={"title": "THANKS", "body": "Thanks again.", "scope": "personal"}, headers=headers
            )
            page = again.get_data(as_text=True)
            assert again.status_code == 422
            assert "A saved reply called “THANKS” already exists among your personal replies" in _errors_of(
                page, "title"
            )
            assert _errors_of(page, "scope") == "" and _errors_of(page, "body") == ""
    db.session.expire_all()
    assert _count() == 2 and db.session.get(SavedReply, other.id).title == "Other"
    assert db.session.get(SavedReply, taken.id).body == "Thank you."


def test_inserting_without_javascript_fills_placeholders_after_the_typed_text_and_sends_nothing(
    client, login, desk
):
    reply = _reply(
        "Greeting",
        "Hello {customer_first_name}, this is {agent_name} about #{ticket_id} ({ticket_subject}, {category})."
        " {unknown} {{ 7*7 }} {customer_name.__class__}",
        category=desk.it,
    )
    login(desk.tech_it)
    ticket = desk.it_ticket
    page = client.get(f"/agent/tickets/{ticket.id}").get_data(as_text=True)
    assert f'<option value="{reply.id}">Greeting (IT)</option>' in page
    messages_before = db.session.scalar(
        db.select(db.func.count(Message.id)).where(Message.ticket_id == ticket.id)
    )

    answer = client.post(
        f"/agent/tickets/{ticket.id}/reply",
        data={"reply-body": "Thanks for waiting.", "reply-action": "insert", "reply-saved": str(reply.id)},
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Inserted “Greeting”" in text
    assert _textarea(text) == (
        f"Thanks for waiting.\n\nHello Alice, this is Ivan IT about #{ticket.id} (VPN drops, IT)."
        " {unknown} {{ 7*7 }} {customer_name.__class__}"
    )
    count = db.session.scalar(db.select(db.func.count(Message.id)).where(Message.ticket_id == ticket.id))
    assert count == messages_before  # nothing was sent
    db.session.expire_all()
    assert db.session.get(SavedReply, reply.id).use_count == 1


def test_a_reply_of_another_category_or_agent_cannot_be_inserted(client, login, desk):
    sales_only = _reply("Quote", "Our prices.", category=desk.sales)
    someone_elses = _reply("Mine", "Private.", owner=desk.tech_sales)
    login(desk.admin)
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert "Quote" not in page and "Private." not in page  # not offered on an IT ticket
    for reply in (sales_only, someone_elses):
        answer = client.post(
            f"/agent/tickets/{desk.it_ticket.id}/reply",
            data={"reply-body": "Typed.", "reply-action": "insert", "reply-saved": str(reply.id)},
        )
        text = answer.get_data(as_text=True)
        assert "Choose a saved reply to insert." in text and _textarea(text) == "Typed."
    for bad in ("", "abc", "99999999999999999999", "-1"):
        answer = client.post(
            f"/agent/tickets/{desk.it_ticket.id}/reply",
            data={"reply-body": "Typed.", "reply-action": "insert", "reply-saved": bad},
        )
        assert answer.status_code == 200 and "Choose a saved reply to insert." in answer.get_data(
            as_text=True
        )


def test_the_picker_finds_replies_for_the_ticket_with_the_text_filled(client, login, desk):
    _reply("Printer jam", "Hi {customer_first_name}, open tray 2.", category=desk.it, uses=5)
    _reply("Password reset", "Use the reset link.", owner=desk.tech_it)
    _reply("Discount", "10 % off.", category=desk.sales)
    login(desk.tech_it)
    url = f"/agent/tickets/{desk.it_ticket.id}/saved-replies"
    fragment = client.get(url, headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert 'data-kb-insert="Hi Alice, open tray 2."' in fragment and "Password reset" in fragment
    assert "Discount" not in fragment
    assert fragment.index("Printer jam") < fragment.index("Password reset")  # most used first
    found = client.get(url + "?q=tray", headers=HTMX).get_data(as_text=True)
    assert "Printer jam" in found and "Password reset" not in found
    page = client.get(url + "?q=reset").get_data(as_text=True)  # without JavaScript: a page
    assert "<h1>Saved replies for ticket" in page and "Use the reset link." in page
    assert client.get(f"/agent/tickets/{desk.sales_ticket.id}/saved-replies").status_code == 404


def test_an_insert_in_the_browser_counts_one_use(client, login, desk):
    reply = _reply("Counted", "Text.", category=desk.it)
    login(desk.tech_it)
    assert client.post(f"/agent/replies/{reply.id}/used").status_code == 204
    assert client.post(f"/agent/replies/{reply.id}/used").status_code == 204
    db.session.expire_all()
    kept = db.session.get(SavedReply, reply.id)
    assert kept.use_count == 2 and kept.last_used_at is not None


def test_deleting_asks_first_then_deletes(client, login, desk):
    reply = _reply("Old answer", "Text.", category=desk.it, uses=3)
    login(desk.tech_it)
    asked = client.post(f"/agent/replies/{reply.id}/delete").get_data(as_text=True)
    assert "Delete the saved reply “Old answer”?" in asked and "used 3 times" in asked
    assert _count() == 1
    client.post(f"/agent/replies/{reply.id}/delete", data={"confirmed_action": "yes"})
    assert _count() == 0


def test_the_list_sorts_least_used_first_and_is_paginated(app, client, login, desk):
    per_page = app.config["PER_PAGE"]
    for number in range(per_page + 1):
        _reply(f"Reply {number:03d}", "Text.", owner=desk.tech_it, uses=number)
    login(desk.tech_it)
    first = client.get("/agent/replies/?sort=least_used").get_data(as_text=True)
    assert "Reply 000" in first and f"Reply {per_page:03d}" not in first and "Page 1 of 2" in first
    second = client.get("/agent/replies/?sort=least_used&page=2").get_data(as_text=True)
    assert f"Reply {per_page:03d}" in second
    assert client.get("/agent/replies/?sort=nonsense&scope=%00&q=" + "x" * 500).status_code == 200


def test_customers_never_reach_saved_replies(client, login, desk):
    _reply("Internal", "Text.", category=desk.it)
    login(desk.requester)
    assert client.get("/agent/replies/").status_code == 404
    assert client.get(f"/agent/tickets/{desk.it_ticket.id}/saved-replies").status_code == 404


def _offered(page):
    """The (value, label) options of the reply form's saved-reply select."""
    select = re.search(r'<select id="reply-saved"[^>]*>(.*?)</select>', page, re.S)
    return re.findall(r'<option value="(\d+)">([^<]*)</option>', select.group(1)) if select else []


def test_the_reply_form_offers_own_and_the_categorys_shared_replies_most_used_first(client, login, desk):
    mine = _reply("Password reset", "Use the link.", owner=desk.tech_it, uses=1)
    shared = _reply("Printer jam", "Open tray 2.", category=desk.it, uses=7)
    _reply("Quote", "Our prices.", category=desk.sales, uses=9)  # another category
    _reply("Private", "Not yours.", owner=desk.tech_sales, uses=9)  # another agent's
    login(desk.tech_it)
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert _offered(page) == [
        (str(shared.id), f"Printer jam ({desk.it.name})"),
        (str(mine.id), "Password reset"),
    ]
    login(desk.admin)  # an admin: the ticket category's shared replies and their own, no one else's
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert _offered(page) == [(str(shared.id), f"Printer jam ({desk.it.name})")]


def test_the_list_filtered_by_htmx_is_its_fragment_with_the_matches(client, login, desk):
    _reply("Restart first", "Please restart.", owner=desk.tech_it)
    _reply("Invoice copy", "Attached.", owner=desk.tech_it)
    login(desk.tech_it)
    answer = client.get("/agent/replies/", query_string={"q": "restart"}, headers=HTMX)
    assert answer.status_code == 200  # was a 500: the list's block called a macro it had not imported
    fragment = answer.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="reply-list"') and "<html" not in fragment
    assert "Restart first" in fragment and "Invoice copy" not in fragment


def test_a_shared_reply_of_an_archived_category_is_edited_where_it_is(client, login, desk):
    shared = _reply("VPN reset", "Reset your VPN profile.", category=desk.it)
    desk.it.archived = True
    db.session.commit()
    for agent in (desk.tech_it, desk.admin):
        login(agent)
        answer = client.post(
            f"/agent/replies/{shared.id}/edit",
            data={
                "title": f"VPN reset ({agent.name})",
                "body": "Reset the profile.",
                "scope": str(desk.it.id),
            },
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)
        db.session.expire_all()
        kept = db.session.get(SavedReply, shared.id)
        assert (
            kept.title == f"VPN reset ({agent.name})"
            and kept.category_id == desk.it.id
            and kept.owner_id is None
        )
    login(desk.tech_sales)  # still nobody else's to move into the archived category
    other = _reply("Quote", "Here is the quote.", category=desk.sales)
    answer = client.post(
        f"/agent/replies/{other.id}/edit", data={"title": "Quote", "body": "Text", "scope": str(desk.it.id)}
    )
    assert answer.status_code == 422 and db.session.get(SavedReply, other.id).category_id == desk.sales.id
