"""Shared things two people edit from forms opened at the same time (credit packs, webhook
endpoints, shared saved replies, time entries): a save from a form opened before someone else's
save is refused (409, 200 with htmx) with what changed (and who, where that is recorded), keeps
what was typed and loses nothing of the other save; a freshly loaded form saves normally."""

import html
import re

import pytest

from helpdesk.extensions import db
from tests import billing_support as bs
from tests.stale_support import HX, WHEN, refused_as_stale
from tests.stale_support import page_text as _text


def _hidden(page, name, after=""):
    """The value of the hidden input `name` (the first after `after`); "" when there is none, as a
    page from before the versions would send it."""
    start = page.index(after) if after else 0
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page[start:])
    value = re.search(r'value="([^"]*)"', found.group(0)) if found else None
    return html.unescape(value.group(1)) if value else ""


def _reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


# --- credit packs (/admin/billing/packs/<id>/edit) -------------------------------------------------


def _pack_data(seen, **change):
    data = {"name": "Team", "credits": "1200", "price": "50.00", "currency": "usd", "active": "y"}
    return {**data, "seen_change": seen, **change}


def test_a_stale_pack_form_is_refused_and_keeps_the_other_admin_s_price(client, ada, bob_client):
    from helpdesk.billing.models import CreditPack

    team = bs.pack(name="Team", credits=1200, price=5000)
    db.session.commit()
    url = f"/admin/billing/packs/{team.id}/edit"
    seen = _hidden(client.get(url).get_data(as_text=True), "seen_change")
    assert _hidden(bob_client.get(url).get_data(as_text=True), "seen_change") == seen
    assert bob_client.post(url, data=_pack_data(seen, price="60.00")).status_code == 302
    # Ada's page still shows 50.00 and takes the pack off sale
    off_sale = _pack_data(seen)
    off_sale.pop("active")
    stale = client.post(url, data=off_sale)
    body = refused_as_stale(
        stale,
        rf"Team was changed by Bob Admin {WHEN} \(price 60\.00 USD\) after you opened this form; "
        r"nothing was saved\. Check the values below and save again\.",
    )
    assert re.search(r'name="price"[^>]*value="60\.00"', body)  # Bob's price, not the stale one
    assert not re.search(r'name="active"[^>]*checked', body)  # Ada's choice is kept
    stored = _reload(CreditPack, team.id)
    assert (stored.price, stored.active) == (6000, True)
    # sent again as shown (it carries the current version): both changes stand
    again = dict(off_sale, price="60.00", seen_change=_hidden(body, "seen_change"))
    assert client.post(url, data=again).status_code == 302
    stored = _reload(CreditPack, team.id)
    assert (stored.price, stored.active) == (6000, False)
    # a freshly loaded form saves normally
    fresh = _hidden(client.get(url).get_data(as_text=True), "seen_change")
    renamed = dict(off_sale, name="Team plus", price="60.00", seen_change=fresh)
    assert client.post(url, data=renamed).status_code == 302
    assert _reload(CreditPack, team.id).name == "Team plus"


# --- webhook endpoints (/admin/webhooks/<id>) ------------------------------------------------------


def test_a_stale_endpoint_form_is_refused_and_keeps_the_other_admin_s_url(client, ada, bob_client):
    from helpdesk.webhooks.models import WebhookEndpoint
    from tests.functional.webhook_support import add_endpoint

    endpoint = add_endpoint(ada, "https://crm.example.com/in", events=["ticket.created"])
    db.session.commit()
    url = f"/admin/webhooks/{endpoint.id}"
    seen = _hidden(client.get(url).get_data(as_text=True), "seen")
    moved = {"url": "https://crm2.example.com/in", "events": ["ticket.created"], "seen": seen}
    assert bob_client.post(url, data=moved).status_code == 302
    # Ada's page still shows the old address; she adds an event
    typed = {"url": "https://crm.example.com/in", "events": ["ticket.created", "payment.succeeded"]}
    stale = client.post(url, data={**typed, "seen": seen})
    body = refused_as_stale(
        stale,
        rf"This endpoint was changed by Bob Admin {WHEN} \(settings saved\) after you opened this page; "
        r"nothing was saved\. The stored settings differ from yours in URL: https://crm2\.example\.com/in; "
        r"events: ticket\.created\. The form still shows what you typed: save again to replace them\.",
    )
    assert re.search(r'<input checked[^>]*value="payment\.succeeded"', body)  # Ada's tick is kept
    stored = _reload(WebhookEndpoint, endpoint.id)
    assert (stored.url, stored.events) == ("https://crm2.example.com/in", ["ticket.created"])
    # a freshly loaded page (Bob's address in it) saves Ada's event without undoing Bob's address
    fresh = _hidden(client.get(url).get_data(as_text=True), "seen")
    kept = {"url": "https://crm2.example.com/in", "events": typed["events"], "seen": fresh}
    assert client.post(url, data=kept).status_code == 302
    stored = _reload(WebhookEndpoint, endpoint.id)
    assert (stored.url, sorted(stored.events)) == ("https://crm2.example.com/in", sorted(typed["events"]))


def test_an_endpoint_disabled_by_another_admin_makes_the_form_stale_and_says_so(client, ada, bob_client):
    from helpdesk.webhooks.models import WebhookEndpoint
    from tests.functional.webhook_support import add_endpoint

    endpoint = add_endpoint(ada, "https://crm.example.com/in", events=["ticket.created"])
    db.session.commit()
    url = f"/admin/webhooks/{endpoint.id}"
    seen = _hidden(client.get(url).get_data(as_text=True), "seen")
    assert bob_client.post(f"{url}/enabled", data={"enabled": "0"}).status_code == 302
    data = {
        "url": "https://crm.example.com/in",
        "events": ["ticket.created"],
        "description": "CRM",
        "seen": seen,
    }
    stale = client.post(url, data=data)
    body = refused_as_stale(stale, rf"This endpoint was changed by Bob Admin {WHEN} \(disabled\)")
    assert "The stored settings differ from yours in description: none." in body
    assert 'value="CRM"' in body
    again = client.post(url, data={**data, "seen": _hidden(body, "seen")})
    assert again.status_code == 302
    stored = _reload(WebhookEndpoint, endpoint.id)
    assert (stored.description, stored.enabled) == ("CRM", False)


# --- a saved reply shared in a category (/agent/replies/<id>/edit) ---------------------------------


@pytest.fixture
def shared_reply(client, login, make, ref, app):
    """(the IT category, Tess's browser, their shared reply "VPN reset"): Ivan and Tess work IT,
    Ivan with the test's client."""
    from helpdesk.replies.models import SavedReply

    it = ref.categories["IT"]
    ivan = make.technician(it, name="Ivan IT", email="ivan@example.com")
    tess_client = login(
        make.technician(it, name="Tess IT", email="tess@example.com"), as_client=app.test_client()
    )
    login(ivan)
    reply = SavedReply(title="VPN reset", body="Restart the VPN client.", category_id=it.id)
    db.session.add(reply)
    db.session.commit()
    return it, tess_client, reply


def test_a_stale_shared_reply_form_is_refused_and_keeps_both_texts(client, shared_reply):
    from helpdesk.replies.models import SavedReply

    it, tess_client, reply = shared_reply
    url = f"/agent/replies/{reply.id}/edit"
    seen = _hidden(client.get(url).get_data(as_text=True), "seen")
    assert _hidden(tess_client.get(url).get_data(as_text=True), "seen") == seen
    # using the reply on a ticket only counts: the forms stay current
    assert tess_client.post(f"/agent/replies/{reply.id}/used").status_code == 204
    tess = {"title": "VPN reset", "body": "Restart the VPN client, then sign in again.", "scope": str(it.id)}
    assert tess_client.post(url, data={**tess, "seen": seen}).status_code == 302
    # Ivan's page still shows the old text; he changes only the title
    ivan_typed = {"title": "VPN: reset", "body": "Restart the VPN client.", "scope": str(it.id)}
    stale = client.post(url, data={**ivan_typed, "seen": seen})
    body = refused_as_stale(
        stale,
        rf"This saved reply was changed {WHEN} after you opened this form; nothing was saved\. The saved "
        r"reply now differs from yours in its title \(“VPN reset”\), its text\. The form still shows what "
        r"you typed: save again to replace it\.",
    )
    assert 'value="VPN: reset"' in body  # what Ivan typed, kept
    assert re.search(r'name="body"[^>]*>\s*Restart the VPN client\.</textarea>', body)
    assert _reload(SavedReply, reply.id).body == "Restart the VPN client, then sign in again."
    # a freshly loaded form (Tess's text in it) saves Ivan's title and keeps her text
    fresh = _hidden(client.get(url).get_data(as_text=True), "seen")
    kept = {**tess, "title": "VPN: reset", "seen": fresh}
    assert client.post(url, data=kept).status_code == 302
    stored = _reload(SavedReply, reply.id)
    assert (stored.title, stored.body) == ("VPN: reset", "Restart the VPN client, then sign in again.")


def test_an_edit_of_a_reply_deleted_meanwhile_keeps_what_was_typed_as_a_new_reply(client, shared_reply, ref):
    """Tess deletes a shared reply while Ivan edits it: his save finds nothing to save into. It
    answered 404 and his text was lost; now the form comes back holding it (409), saying what
    happened, and posts as a new reply."""
    from helpdesk.replies.models import SavedReply

    it, tess_client, reply = shared_reply
    url = f"/agent/replies/{reply.id}/edit"
    seen = _hidden(client.get(url).get_data(as_text=True), "seen")
    assert (
        tess_client.post(f"/agent/replies/{reply.id}/delete", data={"confirmed_action": "yes"}).status_code
        == 302
    )
    assert _reload(SavedReply, reply.id) is None
    typed = {"title": "VPN: reset", "body": "Restart the VPN client, then sign in.", "scope": str(it.id)}
    answer = client.post(url, data={**typed, "seen": seen})
    body = _text(answer)
    assert answer.status_code == 409
    assert "This saved reply was deleted after you opened it, so nothing was saved." in body
    assert 'value="VPN: reset"' in body
    assert re.search(r'name="body"[^>]*>\s*Restart the VPN client, then sign in\.</textarea>', body)
    assert 'action="/agent/replies/new"' in body
    assert client.post("/agent/replies/new", data=typed).status_code == 302
    [kept] = db.session.scalars(db.select(SavedReply).where(SavedReply.title == "VPN: reset")).all()
    assert (kept.body, kept.category_id) == ("Restart the VPN client, then sign in.", it.id)
    # a reply that exists but is not theirs still answers 404
    other = SavedReply(title="Sales only", body="x", category_id=ref.categories["Sales"].id)
    db.session.add(other)
    db.session.commit()
    assert client.post(f"/agent/replies/{other.id}/edit", data=typed).status_code == 404


# --- time entries, edited by whoever logged them or an admin (the ticket's credit panel) ----------


@pytest.fixture
def logged(make, ref, ada, login, app):
    """60 minutes Ivan logged on Tess Time's ticket (on Time bank: 600 credits, a credit a minute),
    and Ivan's browser."""
    from helpdesk.credits import time_entries
    from tests.credit_helpers import bank

    customer = make.customer(name="Tess Time")
    account = bank("Time bank", 600, user=customer)
    ticket = make.ticket(requester=customer, category=ref.categories["IT"], priority=ref.priorities["Normal"])
    ivan = make.technician(ref.categories["IT"], name="Ivan IT")
    entry, _ = time_entries.log_time(ticket, ivan, 60, "Call")
    db.session.commit()
    return ticket, account, entry, login(ivan, as_client=app.test_client())


def test_a_stale_time_entry_edit_is_refused_and_charges_nothing_back(client, logged):
    from helpdesk.credits.models import TimeEntry
    from tests.credit_helpers import balance_of

    ticket, account, entry, ivan_client = logged
    panel = f"/agent/credits/tickets/{ticket.id}"
    edit = f"/agent/credits/time/{entry.id}/edit"
    seen = _hidden(ivan_client.get(panel).get_data(as_text=True), "revision", after=edit)
    assert _hidden(client.get(panel).get_data(as_text=True), "revision", after=edit) == seen
    # Ada (an admin) corrects the minutes: 30 credits go back to the bank
    assert client.post(edit, data={"minutes": "30", "note": "Call", "revision": seen}).status_code == 302
    assert balance_of(account) == 570
    # Ivan's panel still shows 60 min; he changes only the note
    stale = ivan_client.post(edit, data={"minutes": "60", "note": "Call about the VPN", "revision": seen})
    body = refused_as_stale(
        stale,
        rf"Ivan IT's time entry was changed by Ada Admin {WHEN} \(30 min\) after you opened this page; "
        r"nothing was saved\. Check the values below and save again\.",
    )
    assert f'id="minutes-{entry.id}" name="minutes" value="30"' in body  # Ada's minutes
    assert f'id="note-{entry.id}" name="note" value="Call about the VPN"' in body  # Ivan's note
    assert balance_of(account) == 570 and _reload(TimeEntry, entry.id).minutes == 30  # nothing re-charged
    again = {"minutes": "30", "note": "Call about the VPN", "revision": _hidden(body, "revision", after=edit)}
    assert ivan_client.post(edit, data=again).status_code == 302
    stored = _reload(TimeEntry, entry.id)
    assert (stored.minutes, stored.note) == (30, "Call about the VPN") and balance_of(account) == 570
    # a freshly loaded panel saves normally
    fresh = _hidden(ivan_client.get(panel).get_data(as_text=True), "revision", after=edit)
    assert (
        ivan_client.post(edit, data={"minutes": "40", "note": "Call", "revision": fresh}).status_code == 302
    )
    assert _reload(TimeEntry, entry.id).minutes == 40 and balance_of(account) == 560


def test_an_edit_of_an_entry_deleted_meanwhile_says_so_and_what_was_typed(client, logged):
    from tests.credit_helpers import balance_of

    ticket, account, entry, ivan_client = logged
    edit = f"/agent/credits/time/{entry.id}/edit"
    seen = _hidden(
        ivan_client.get(f"/agent/credits/tickets/{ticket.id}").get_data(as_text=True), "revision", after=edit
    )
    deleted = client.post(f"/agent/credits/time/{entry.id}/delete", data={"confirmed_action": "yes"})
    assert deleted.status_code == 302 and balance_of(account) == 600
    stale = ivan_client.post(edit, data={"minutes": "45", "note": "Call", "revision": seen}, headers=HX)
    body = _text(stale)
    assert stale.status_code == 200 and "<html" not in body
    assert re.search(
        rf"Ivan IT's time entry was changed by Ada Admin {WHEN} \(deleted\) after you opened this page; "
        r"nothing was saved\. You had typed 45 min “Call”: log them again if they should stand\.",
        body,
    )
    assert balance_of(account) == 600
