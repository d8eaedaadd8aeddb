"""Agents' everyday notices (issue 16 item 7): assigned to you, customer replied, mentioned, at risk;
each written once by its cause, never to whoever acted; the unread count; mail preferences."""

from sqlalchemy import select

from helpdesk import events
from helpdesk.extensions import db
from helpdesk.mail import inbound as mail_inbound
from helpdesk.mail import notify
from helpdesk.mail.compose import REPLY_MARKER, build_email, compose
from helpdesk.mail.models import OutboxMessage
from helpdesk.mail.tokens import reply_address, thread_root_id
from helpdesk.notices.models import Notice
from helpdesk.tickets.models import Ticket
from tests.mail_support import TRUSTED_MTA, load_eml, printer_ticket, with_auth_results

from .agent_support import HTMX, fresh


def notices(user, kind=None):
    db.session.expire_all()
    query = select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)
    if kind:
        query = query.where(Notice.kind == kind)
    return db.session.scalars(query).all()


def mails(user, kind):
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.user_id == user.id, OutboxMessage.kind == kind)
    ).all()


def assign(client, ticket, agent, version=1):
    return client.post(
        f"/agent/tickets/{ticket.id}/assignee",
        data={"assignee-value": agent.id, "assignee-version": version},
        headers=HTMX,
    )


def note(client, ticket, body, mode="note"):
    response = client.post(
        f"/agent/tickets/{ticket.id}/reply", data={"reply-body": body, "reply-action": mode}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


# --- assigned to you ---------------------------------------------------------------------------


def test_assigning_a_ticket_tells_the_new_assignee_once(client, login, desk):
    login(desk.admin)
    assert assign(client, desk.it_ticket, desk.tech_it).status_code == 200
    [notice] = notices(desk.tech_it)
    assert notice.kind == "assigned" and notice.ticket_id == desk.it_ticket.id
    assert notice.text == f"Ada Admin assigned #{desk.it_ticket.id} “VPN drops” to you."
    assert notices(desk.admin) == []
    login(desk.tech_it)
    page = client.get("/notices/").get_data(as_text=True)
    assert "Ada Admin assigned" in page and "Notifications (1)" in page


def test_taking_a_ticket_yourself_tells_nobody(client, login, desk):
    login(desk.tech_it)
    assign(client, desk.it_ticket, desk.tech_it)
    assert db.session.get(Ticket, desk.it_ticket.id).assignee_id == desk.tech_it.id
    assert notices(desk.tech_it) == []


def test_bulk_assign_tells_the_assignee_once_per_ticket(client, login, desk, make):
    other = make.ticket(subject="Printer", requester=desk.requester, category=desk.it,
                        priority=desk.ref.priorities["Low"])  # fmt: skip
    login(desk.admin)
    response = client.post(
        "/agent/bulk?status=all",
        data={"selected": [f"{desk.it_ticket.id}.1", f"{other.id}.1"], "action": "assign",
              "assignee": desk.tech_it.id},
        headers=HTMX,
    )  # fmt: skip
    assert b"2 tickets updated." in response.data
    assert sorted(n.ticket_id for n in notices(desk.tech_it, "assigned")) == sorted(
        [desk.it_ticket.id, other.id]
    )
    # Assigning again to the same agent changes nothing and tells nobody a second time.
    client.post(
        "/agent/bulk?status=all",
        data={"selected": [f"{desk.it_ticket.id}.2"], "action": "assign", "assignee": desk.tech_it.id},
        headers=HTMX,
    )
    assert len(notices(desk.tech_it, "assigned")) == 2


# --- customer replied --------------------------------------------------------------------------


def test_a_customer_reply_on_the_portal_tells_the_assignee_only(client, login, desk):
    desk.it_ticket.assignee = desk.tech_it
    db.session.commit()
    login(desk.requester)
    response = client.post(f"/portal/tickets/{desk.it_ticket.id}/reply", data={"body": "Still broken"})
    assert response.status_code == 302
    [notice] = notices(desk.tech_it)
    assert notice.kind == "customer_replied"
    assert notice.text == f"Alice Archer replied on #{desk.it_ticket.id} “VPN drops”."
    assert notices(desk.admin) == [] and notices(desk.requester) == []


def test_an_agent_reply_or_an_unassigned_ticket_makes_no_customer_notice(client, login, desk):
    login(desk.requester)
    client.post(f"/portal/tickets/{desk.it_ticket.id}/reply", data={"body": "Anyone?"})  # unassigned
    assert notices(desk.tech_it) == []
    desk.it_ticket.assignee = desk.tech_it
    db.session.commit()
    login(desk.admin)
    note(client, desk.it_ticket, "We are on it", mode="reply")
    assert notices(desk.tech_it) == []


def test_a_customer_reply_by_mail_tells_the_assignee(make, ref):
    alice = make.customer(email="alice@example.test", name="Alice Archer")
    agent = make.technician(ref.categories["IT"], name="Ivan IT")
    ticket = printer_ticket(alice, ref)
    ticket.assignee = agent
    db.session.commit()
    raw = load_eml(
        "reply_plain.eml",
        ID=ticket.id,
        TOKEN=reply_address(ticket.id, alice.id),
        ROOT=thread_root_id(ticket.id),
    )
    assert mail_inbound.ingest(raw).outcome == "reply"
    [notice] = notices(agent)
    assert notice.kind == "customer_replied" and "Alice Archer replied" in notice.text


# --- mentioned ---------------------------------------------------------------------------------


def test_a_mention_in_a_note_tells_that_agent_and_is_highlighted(client, login, desk):
    login(desk.admin)
    assert note(client, desk.it_ticket, "@ivan can you check <script>x</script> the VPN?").status_code == 302
    [notice] = notices(desk.tech_it)
    assert notice.kind == "mentioned" and notice.text.startswith("Ada Admin mentioned you in a note")
    assert notice.link.startswith(f"/agent/tickets/{desk.it_ticket.id}?thread=all#message-")
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert '<mark class="mention">@ivan</mark> can you check &lt;script&gt;x&lt;/script&gt;' in page
    login(desk.tech_it)
    assert f'href="{notice.link}"' in client.get("/notices/").get_data(as_text=True)


def test_a_mention_leads_to_its_note_after_later_messages_fold_it_away(
    app, client, login, desk, make, monkeypatch
):
    """The page shows the latest THREAD_RECENT_MESSAGES messages: the notice and its mail ask for
    the whole conversation, so their anchor still finds the note when many messages came since."""
    monkeypatch.setitem(app.config, "THREAD_RECENT_MESSAGES", 2)
    monkeypatch.setitem(app.extensions, "helpdesk_deployment", ("test", "THREAD_RECENT_MESSAGES=2"))
    mail = mention_mail(client, login, desk, "@ivan the old VPN profile is in the wiki.")
    for n in range(3):
        make.message(desk.it_ticket, desk.requester, body=f"Still broken {n}")
    [notice] = notices(desk.tech_it)
    note_id = notice.link.rsplit("#message-", 1)[1]
    assert f"Open it: {app.config['PUBLIC_URL'].rstrip('/')}{notice.link}\n" in mail.body_text
    login(desk.tech_it)
    page = client.get(notice.link).get_data(as_text=True)
    assert f'id="message-{note_id}"' in page and "the old VPN profile is in the wiki" in page


def test_a_mention_in_code_or_a_link_tells_nobody_as_the_note_shows_no_mention(client, login, desk):
    """A pasted log in a code block names nobody: the note shows it as written, unmarked, so
    nobody is notified of it and the author is told of no mention."""
    login(desk.admin)
    note(client, desk.it_ticket, "The log says:\n\n```\nlogin failed for @ivan\n```\n\nSee `@ivan`.")
    assert notices(desk.tech_it) == []
    page = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert "Internal note added." in page and "Notified" not in page
    assert "login failed for @ivan" in page and '<mark class="mention">@ivan' not in page


def test_a_mention_of_an_agent_who_may_not_see_the_ticket_produces_nothing(client, login, desk):
    login(desk.admin)
    note(client, desk.it_ticket, "@sara what do you think?")  # Sara works Sales only
    assert notices(desk.tech_sales) == []
    assert db.session.scalars(select(Notice)).all() == []


def test_customers_subscribers_and_the_author_are_never_mentioned(client, login, desk):
    login(desk.tech_it)
    note(client, desk.it_ticket, "@alice @sam @carl and me @ivan, also mail bob@example.com")
    assert db.session.scalars(select(Notice)).all() == []


def test_the_author_of_a_note_is_told_who_was_notified_and_who_was_not(client, login, desk):
    login(desk.admin)
    note(client, desk.it_ticket, "@ivan please check, also @sara, @alice and @ivan-typo")
    text = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert "Internal note added. Notified: Ivan IT." in text
    assert (
        "Not notified: @sara (may not see this ticket), @alice (no agent by that name),"
        " @ivan-typo (no agent by that name)." in text.replace("&#34;", '"')
    )
    note(client, desk.it_ticket, "No mentions here.")
    quiet = client.get(f"/agent/tickets/{desk.it_ticket.id}").get_data(as_text=True)
    assert "Internal note added." in quiet and "Notified" not in quiet


def test_a_mention_in_a_public_reply_is_not_a_mention(client, login, desk):
    login(desk.admin)
    note(client, desk.it_ticket, "@ivan will call you", mode="reply")
    assert notices(desk.tech_it) == []


def test_a_shared_short_name_names_nobody_the_whole_address_names_one(client, login, desk, make):
    twin = make.technician(desk.it, name="Ivan Other", email="ivan@example.org")
    login(desk.admin)
    note(client, desk.it_ticket, "@ivan ?")
    assert notices(desk.tech_it) == [] and notices(twin) == []
    note(client, desk.it_ticket, "@ivan@example.org, over to you.")
    assert [n.kind for n in notices(twin)] == ["mentioned"] and notices(desk.tech_it) == []
    login(twin)
    assert "(yours: <code>@ivan@example.org</code>)" in client.get("/account/notifications").get_data(
        as_text=True
    )
    login(desk.tech_sales)
    assert "(yours: <code>@sara</code>)" in client.get("/account/notifications").get_data(as_text=True)


# --- unread count, mark read --------------------------------------------------------------------


def test_the_unread_count_and_marking_one_or_all_read(client, login, desk, make):
    other = make.ticket(subject="Printer", requester=desk.requester, category=desk.it,
                        priority=desk.ref.priorities["Low"])  # fmt: skip
    login(desk.admin)
    assign(client, desk.it_ticket, desk.tech_it)
    assign(client, other, desk.tech_it)
    admin_notice = events.ticket_assigned.send(ticket=desk.it_ticket, assignee=desk.admin, actor=desk.tech_it)
    db.session.commit()
    first, second = notices(desk.tech_it)
    login(desk.tech_it)
    assert "Notifications (2)" in client.get("/agent/").get_data(as_text=True)
    # Someone else's notice cannot be marked read.
    client.post(f"/notices/{admin_notice[0][0].id}/read")
    assert notices(desk.admin)[0].read_at is None
    assert (
        client.post(f"/notices/{first.id}/read", data={"next": "/notices/?show=unread"})
        .headers["Location"]
        .endswith("/notices/?show=unread")
    )
    page = client.get("/notices/?show=unread").get_data(as_text=True)
    assert "Notifications (1)" in page and f"#{other.id}" in page and f"#{desk.it_ticket.id} “" not in page
    client.post("/notices/read")
    assert "Notifications (1)" not in client.get("/agent/").get_data(as_text=True)
    assert "No unread notifications." in client.get("/notices/?show=unread").get_data(as_text=True)


def test_notices_about_a_ticket_the_agent_may_no_longer_see_go(app, client, login, desk, make):
    """Notices quote the ticket's subject: an agent who lost its category (or whose ticket moved
    to a category they do not work) is no longer told of it, in the list or the count."""
    printer = make.ticket(subject="Printer jam", requester=desk.requester, category=desk.it,
                          priority=desk.ref.priorities["Low"])  # fmt: skip
    login(desk.admin)
    assign(client, desk.it_ticket, desk.tech_it)
    assign(client, printer, desk.tech_it)
    ivan = login(desk.tech_it, as_client=app.test_client())
    assert "Notifications (2)" in ivan.get("/notices/").get_data(as_text=True)
    client.post(f"/admin/permissions/{desk.tech_it.id}/{desk.it.id}", data={}, headers=HTMX)  # revoked
    page = ivan.get("/notices/").get_data(as_text=True)
    assert "VPN drops" not in page and "Printer jam" not in page and "Notifications (" not in page
    assert "No notifications." in page
    client.post(
        f"/admin/permissions/{desk.tech_it.id}/{desk.it.id}",
        data={"perm": f"{desk.tech_it.id}:{desk.it.id}"},
        headers=HTMX,
    )
    scanner = make.ticket(subject="Scanner offline", requester=desk.requester, category=desk.it,
                          priority=desk.ref.priorities["Low"])  # fmt: skip
    assign(client, scanner, desk.tech_it)
    assign(client, printer, desk.admin)  # a notice about Printer jam for nobody but Ada
    assert "Notifications (1)" in ivan.get("/notices/").get_data(as_text=True)
    client.post(
        f"/agent/tickets/{scanner.id}/category",
        data={"category-value": desk.sales.id, "category-version": fresh(scanner.id).version},
        headers=HTMX,
    )
    page = ivan.get("/notices/").get_data(as_text=True)
    assert "Scanner offline" not in page and "Notifications (" not in page


# --- mail preferences ---------------------------------------------------------------------------


def test_assigned_mail_is_off_by_default_and_on_when_chosen(client, login, desk):
    login(desk.admin)
    assign(client, desk.it_ticket, desk.tech_it)
    assert mails(desk.tech_it, "notice_assigned") == []
    login(desk.tech_it)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert ">Assigned to you</label>" in page and ">Give me new tickets by round-robin</label>" in page
    response = client.post("/account/notifications", data={"mail_assigned": "y", "mail_at_risk": "y"})
    assert response.status_code == 302
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'checked id="mail_assigned"' in page and 'checked id="mail_mentioned"' not in page
    login(desk.admin)
    assign(client, desk.it_ticket, desk.admin, version=2)
    assign(client, desk.it_ticket, desk.tech_it, version=3)
    [mail] = mails(desk.tech_it, "notice_assigned")
    assert mail.to_addr == "ivan@example.com" and mail.subject == f"Notice: [#{desk.it_ticket.id}] VPN drops"
    compose(mail)
    assert f"Ada Admin assigned #{desk.it_ticket.id} “VPN drops” to you." in mail.body_text
    assert (
        f"/agent/tickets/{desk.it_ticket.id}" in mail.body_text and "/account/notifications" in mail.body_text
    )
    assert len(notices(desk.tech_it, "assigned")) == 2  # in-app always


def mention_mail(client, login, desk, text):
    """The mention mail Ivan (who asked for them by mail) gets when Ada's note on the IT ticket says
    `text`, composed."""
    login(desk.tech_it)
    client.post("/account/notifications", data={"mail_mentioned": "y"})
    login(desk.admin)
    note(client, desk.it_ticket, text)
    [mail] = mails(desk.tech_it, "notice_mentioned")
    compose(mail)
    return mail


def test_mentioned_mail_follows_the_preference(client, login, desk):
    mail = mention_mail(client, login, desk, "@ivan look")
    assert "Ada Admin mentioned you in a note" in mail.body_text and "#message-" in mail.body_text


def test_customer_replied_mail_on_by_default_off_when_chosen(client, login, desk):
    desk.it_ticket.assignee = desk.tech_it
    db.session.commit()
    login(desk.requester)
    client.post(f"/portal/tickets/{desk.it_ticket.id}/reply", data={"body": "One"})
    assert len(mails(desk.tech_it, "public_reply")) == 1
    login(desk.tech_it)
    client.post("/account/notifications", data={"mail_assigned": "y"})  # customer replies unticked
    login(desk.requester)
    client.post(f"/portal/tickets/{desk.it_ticket.id}/reply", data={"body": "Two"})
    assert len(mails(desk.tech_it, "public_reply")) == 1
    assert len(notices(desk.tech_it, "customer_replied")) == 2


def test_at_risk_mail_follows_the_preference(client, login, desk, make):
    ticket = make.ticket(subject="Paid", category=desk.it, priority=desk.ref.priorities["Urgent"],
                         assignee=desk.tech_it)  # fmt: skip
    events.sla_at_risk.send(ticket=ticket, target="response")
    assert len(mails(desk.tech_it, "sla_at_risk")) == 1 and len(notices(desk.tech_it, "at_risk")) == 1
    login(desk.tech_it)
    client.post("/account/notifications", data={})
    events.sla_at_risk.send(ticket=ticket, target="resolution" if ticket.resolution_due_at else "response")
    assert len(mails(desk.tech_it, "sla_at_risk")) == 1 and len(notices(desk.tech_it, "at_risk")) == 2


def test_the_settings_page_is_for_agents_only(client, login, desk):
    login(desk.requester)
    assert client.get("/account/notifications").status_code == 404
    assert client.post("/account/availability", data={"away": "y"}).status_code == 404


# --- notice mails invite no public answer ---------------------------------------------------------


def answer_to_notice(notice_mail, ticket, to_addr):
    """Ivan's answer to his notice mail as his mail program writes it, our MTA having verified him."""
    raw = load_eml(
        "agent_answers_notice.eml",
        TO=to_addr,
        ID=ticket.id,
        PARENT=notice_mail.message_id,
        ROOT=thread_root_id(ticket.id),
    )
    return with_auth_results(raw, "dmarc=pass header.from=example.com")


def test_a_mention_mail_has_no_reply_address_and_an_answer_to_it_stays_internal(
    app, monkeypatch, client, login, desk
):
    monkeypatch.setitem(app.config, "MAIL_TRUSTED_AUTHSERV_ID", TRUSTED_MTA)
    mail = mention_mail(client, login, desk, "@ivan please look")
    assert "Reply-To" not in mail.headers and mail.headers["X-Helpdesk-Ticket"] == str(desk.it_ticket.id)
    for body in (mail.body_text, mail.body_html):
        assert REPLY_MARKER not in body and "support+t" not in body
        assert "never sent to the customer" in body
    assert "Reply-To" not in build_email(mail)
    # He answers it anyway, as to a colleague: the mail goes to our From address.
    entry = mail_inbound.ingest(answer_to_notice(mail, desk.it_ticket, "support@helpdesk.example"))
    assert entry.outcome == "reply" and "internal note" in entry.reason
    db.session.expire_all()
    [answer] = [m for m in db.session.get(Ticket, desk.it_ticket.id).messages if "between us" in m.body]
    assert answer.internal and answer.author_id == desk.tech_it.id
    assert mails(desk.requester, "public_reply") == []
    login(desk.requester)
    assert "between us" not in client.get(f"/portal/tickets/{desk.it_ticket.id}").get_data(as_text=True)


def test_an_answer_through_an_old_notice_mails_reply_address_stays_internal(app, monkeypatch, desk):
    """Notices sent before this version carried Ivan's reply address: answering one is still kept
    internal, since it answers the notice's Message-ID."""
    monkeypatch.setitem(app.config, "MAIL_TRUSTED_AUTHSERV_ID", TRUSTED_MTA)
    notice = Notice(user_id=desk.tech_it.id, kind="assigned", text="assigned", ticket_id=desk.it_ticket.id)
    db.session.add(notice)
    db.session.flush()
    [mail] = notify.agent_notice(desk.tech_it, notice, settings_url="/s")
    db.session.commit()
    token = reply_address(desk.it_ticket.id, desk.tech_it.id)
    entry = mail_inbound.ingest(answer_to_notice(mail, desk.it_ticket, token))
    assert entry.outcome == "reply" and "internal note" in entry.reason
    db.session.expire_all()
    [answer] = [m for m in db.session.get(Ticket, desk.it_ticket.id).messages if "between us" in m.body]
    assert answer.internal
    assert mails(desk.requester, "public_reply") == []


def test_an_at_risk_mail_has_no_reply_address(desk, make):
    ticket = make.ticket(subject="Paid", category=desk.it, priority=desk.ref.priorities["Urgent"],
                         assignee=desk.tech_it)  # fmt: skip
    events.sla_at_risk.send(ticket=ticket, target="response")
    [mail] = mails(desk.tech_it, "sla_at_risk")
    compose(mail)
    assert "Reply-To" not in mail.headers and REPLY_MARKER not in mail.body_text


def test_a_customer_forwarding_a_notice_answer_is_rejected(app, monkeypatch, desk):
    """Whoever answers a notice mail and is not an agent of the ticket posts nothing."""
    monkeypatch.setitem(app.config, "MAIL_TRUSTED_AUTHSERV_ID", TRUSTED_MTA)
    notice = Notice(user_id=desk.tech_it.id, kind="assigned", text="assigned", ticket_id=desk.it_ticket.id)
    db.session.add(notice)
    db.session.flush()
    [mail] = notify.agent_notice(desk.tech_it, notice, settings_url="/s")
    db.session.commit()
    raw = answer_to_notice(mail, desk.it_ticket, "support@helpdesk.example")
    raw = raw.replace(b"Ivan IT <ivan@example.com>", b"Alice Archer <alice@example.com>")
    entry = mail_inbound.ingest(raw)
    assert entry.outcome == "rejected" and "notice mail" in entry.reason
    db.session.expire_all()
    assert all("between us" not in m.body for m in db.session.get(Ticket, desk.it_ticket.id).messages)
