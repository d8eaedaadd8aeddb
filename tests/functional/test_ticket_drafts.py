"""Coming back to the draft: "Buy credits" or "Switch plan" on the submit form keeps the form on the
server, and the purchase (or the switch) leads back to it, priced anew; a draft lasts a day."""

import io
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from helpdesk.billing.models import Payment
from helpdesk.credits import ledger as credits
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import drafts, storage
from helpdesk.tickets.models import Attachment, Ticket, TicketDraft
from tests import billing_support as bs
from tests.credit_helpers import balance_of, bank, plan

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def shop(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_PAYMENTS", True)
    return bs.pack("Team", credits=1200, price=10000)


@pytest.fixture
def sam(make, ref, login):
    """On Pay as you go with 100 credits: Urgent (250) is out of reach."""
    user = make.customer(name="Sam Short")
    bank("Pay as you go", 100, user=user)
    login(user)
    return user


def form(ref, key="draft-key", files=(), **overrides):
    data = {
        "category": ref.categories["Sales"].id,
        "priority": ref.priorities["Normal"].id,
        "subject": "Invoice export broken",
        "body": "The **CSV** export stops at row 1000.",
        "submission_key": key,
        "attachments": [(io.BytesIO(content), name) for name, content in files],
    }
    data.update(overrides)
    return data


def keep(client, ref, then="buy", wanted="Urgent", **kw):
    url = f"/portal/tickets/new/draft?then={then}&wanted={ref.priorities[wanted].id}"
    return client.post(url, data=form(ref, **kw), content_type="multipart/form-data")


def the_draft():
    return db.session.scalar(select(TicketDraft))


def pay_with_the_demo(client, pack):
    client.post("/billing/buy", data={"pack_id": pack.id, "nonce": "n" * 32})
    payment = db.session.scalar(select(Payment).order_by(Payment.id.desc()))
    client.post(f"/billing/demo-checkout/{payment.id}", data={"action": "pay"})
    return client.get(f"/billing/payments/{payment.id}/success")


def test_the_submit_form_offers_buy_buttons_that_keep_the_draft(client, sam, ref):
    page = client.get("/portal/tickets/new").get_data(as_text=True)
    urgent = ref.priorities["Urgent"].id
    assert (
        f'formaction="/portal/tickets/new/draft?then=buy&amp;wanted={urgent}" formnovalidate aria-label="Buy credits for Urgent">'
        in page
    )


def test_the_quote_fragment_keeps_the_draft_too(client, sam, ref):
    urgent = ref.priorities["Urgent"].id
    body = client.get(
        f"/portal/tickets/new/quote?priority={urgent}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "short by 150 credits" in body and f"then=buy&amp;wanted={urgent}" in body


def test_buy_credits_keeps_everything_and_goes_to_billing(client, sam, ref, shop):
    response = keep(client, ref, files=[("screen.png", PNG)])
    assert response.status_code == 302 and response.location.endswith("/billing/")
    draft = the_draft()
    assert (draft.user_id, draft.submission_key, draft.subject) == (
        sam.id,
        "draft-key",
        "Invoice export broken",
    )
    assert draft.body == "The **CSV** export stops at row 1000."
    assert (draft.category_id, draft.priority_id) == (ref.categories["Sales"].id, ref.priorities["Urgent"].id)
    assert draft.expires_at - draft.updated_at == timedelta(days=1)
    assert [a.filename for a in drafts.staged_files(draft)] == ["screen.png"]
    page = client.get("/billing/").get_data(as_text=True)
    assert "Your ticket draft “<span hx-disable>Invoice export broken</span>” is kept until" in page
    assert f'href="/portal/tickets/new?draft={draft.id}">Back to your draft</a>' in page


def test_after_the_purchase_the_buyer_is_back_on_the_draft_with_the_new_balance(client, sam, ref, shop):
    keep(client, ref, files=[("screen.png", PNG)])
    draft = the_draft()
    success = pay_with_the_demo(client, shop)
    assert success.status_code == 303 and success.location.endswith(f"/portal/tickets/new?draft={draft.id}")
    page = client.get(success.location).get_data(as_text=True)
    assert "Done: 1,200 credits were added. Your ticket draft is below" in page
    assert "Your draft is back" in page and 'value="Invoice export broken"' in page
    assert "The **CSV** export stops at row 1000.</textarea>" in page
    assert f'<option selected value="{ref.categories["Sales"].id}">' in page
    urgent = ref.priorities["Urgent"].id
    assert f'value="{urgent}" checked' in page  # the priority they wanted, affordable now
    assert "Urgent: 250 credits</strong>\n    — balance 1,300 → 1,050" in page
    assert 'value="draft-key"' in page and "screen.png" in page  # same submission, files kept


def test_submitting_the_restored_draft_charges_once_attaches_the_files_and_drops_the_draft(
    client, sam, ref, shop
):
    keep(client, ref, files=[("screen.png", PNG)])
    pay_with_the_demo(client, shop)
    data = form(ref, priority=ref.priorities["Urgent"].id)
    response = client.post("/portal/tickets/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert ticket.priority.name == "Urgent" and [a.filename for a in ticket.attachments] == ["screen.png"]
    assert balance_of(credits.account_for(sam)) == 1050
    (draft,) = db.session.scalars(select(TicketDraft)).all()  # kept, empty, to name its ticket
    assert drafts.get_draft(sam, draft.id) is None and (draft.subject, draft.body) == ("", "")


def test_a_submitted_draft_s_link_names_its_ticket(client, sam, ref):
    keep(client, ref, wanted="Normal")
    draft = the_draft()
    client.post("/portal/tickets/new", data=form(ref), content_type="multipart/form-data")
    ticket = db.session.scalar(select(Ticket))
    page = client.get(f"/portal/tickets/new?draft={draft.id}").get_data(as_text=True)  # Back
    assert (
        f'This draft was submitted as ticket <a href="/portal/tickets/{ticket.id}">#{ticket.id}</a>' in page
    )
    assert "no longer kept" not in page and "Invoice export broken" not in page
    assert 'value="draft-key"' not in page  # a new form: submitting it is another submission
    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1), tick=False):
        assert drafts.submitted_as(sam, draft.id) is None  # as long as the draft would have lasted


def test_the_success_page_without_a_draft_is_unchanged(client, sam, ref, shop):
    success = pay_with_the_demo(client, shop)
    assert success.status_code == 200 and "1,200 credits were added" in success.get_data(as_text=True)


def test_the_return_to_the_draft_happens_once(client, sam, ref, shop):
    keep(client, ref)
    success = pay_with_the_demo(client, shop)
    payment = db.session.scalar(select(Payment))
    assert success.status_code == 303
    assert client.get(f"/billing/payments/{payment.id}/success").status_code == 200


def test_the_polling_success_page_sends_htmx_to_the_draft(client, sam, ref, shop):
    keep(client, ref)
    client.post("/billing/buy", data={"pack_id": shop.id, "nonce": "h" * 32})
    payment = db.session.scalar(select(Payment))
    client.post(f"/billing/demo-checkout/{payment.id}", data={"action": "pay"})
    response = client.get(f"/billing/payments/{payment.id}/success", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == f"/portal/tickets/new?draft={the_draft().id}"


def test_saving_the_same_form_again_updates_its_one_draft(client, sam, ref):
    keep(client, ref)
    keep(client, ref, subject="Invoice export still broken", wanted="High")
    (draft,) = db.session.scalars(select(TicketDraft)).all()
    assert draft.subject == "Invoice export still broken" and draft.priority.name == "High"


def test_a_draft_that_the_bank_still_cannot_cover_comes_back_on_a_priority_it_can(client, sam, ref):
    keep(client, ref)
    page = client.get(f"/portal/tickets/new?draft={the_draft().id}").get_data(as_text=True)
    assert f'value="{ref.priorities["Normal"].id}" checked' in page
    assert "Short by 150 credits" in page


def test_a_draft_is_its_author_s_alone(client, sam, ref, make, login):
    keep(client, ref)
    draft = the_draft()
    login(make.customer())
    page = client.get(f"/portal/tickets/new?draft={draft.id}").get_data(as_text=True)
    assert "Invoice export broken" not in page and "That draft is no longer kept" in page
    assert 'value="draft-key"' not in page


def test_a_draft_expires_after_a_day_and_goes_with_its_files(client, sam, ref):
    keep(client, ref, files=[("screen.png", PNG)])
    draft = the_draft()
    stored = drafts.staged_files(draft)[0].storage_name
    with time_machine.travel(utcnow() + timedelta(hours=23), tick=False):
        assert "Your draft is back" in client.get(f"/portal/tickets/new?draft={draft.id}").get_data(
            as_text=True
        )
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        page = client.get(f"/portal/tickets/new?draft={draft.id}").get_data(as_text=True)
        assert "That draft is no longer kept (drafts last a day)" in page and "Invoice export" not in page
        keep(client, ref, key="another-form")  # the next save of any draft removes expired ones
    assert [d.submission_key for d in db.session.scalars(select(TicketDraft))] == ["another-form"]
    assert db.session.scalar(select(func.count(Attachment.id))) == 0 and not storage.backend().exists(stored)


def test_files_sent_again_from_the_form_of_an_expired_draft_are_kept(client, sam, ref):
    """A form left open for more than a day (its draft expired) still carries the draft's key: the
    files sent with it now are a new attempt's, kept by the new draft, not taken away with the
    expired draft's own."""
    keep(client, ref, files=[("screen.png", PNG)])
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        response = keep(client, ref, files=[("export.log", b"row 1000: stopped")])  # "Buy credits" again
        assert response.status_code == 302
        page = client.get(f"/portal/tickets/new?draft={the_draft().id}").get_data(as_text=True)
    assert "Your draft is back" in page and "export.log" in page and "screen.png" not in page


def test_files_kept_by_a_refused_form_of_an_expired_draft_stay_when_someone_saves_a_draft(
    client, sam, ref, make, login, app
):
    keep(client, ref, files=[("screen.png", PNG)])
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        refused = client.post(
            "/portal/tickets/new", data=form(ref, subject="", files=[("export.log", b"row 1000")]),
            content_type="multipart/form-data",
        )  # fmt: skip
        assert "Files kept from your last attempt" in refused.get_data(as_text=True)
        keep(login(make.customer(), as_client=app.test_client()), ref, key="someone-else")
        sent = client.post("/portal/tickets/new", data=form(ref), content_type="multipart/form-data")
        assert sent.status_code == 302
    ticket = db.session.scalar(select(Ticket).where(Ticket.requester_id == sam.id))
    assert [a.filename for a in ticket.attachments] == ["export.log"]  # the day-old screenshot went


def test_a_draft_keeps_only_a_real_category_and_priority(client, sam, ref):
    client.post(
        "/portal/tickets/new/draft?then=buy&wanted=999999",
        data=form(ref, category=999999, priority=""),
        content_type="multipart/form-data",
    )
    draft = the_draft()
    assert (draft.category_id, draft.priority_id) == (None, None)


def test_a_draft_that_breaks_the_form_s_shape_is_shown_again_not_lost(client, sam, ref):
    response = keep(client, ref, subject="x" * 201)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "The draft could not be kept" in page
    assert "The **CSV** export stops at row 1000.</textarea>" in page
    assert db.session.scalar(select(func.count(TicketDraft.id))) == 0


def test_an_unknown_next_step_keeps_nothing(client, sam, ref):
    response = keep(client, ref, then="elsewhere")
    assert response.status_code == 200 and the_draft() is None


def test_switch_plan_keeps_the_draft_and_the_switch_returns_to_it(client, make, ref, login):
    bob = make.customer()
    bank("Free", user=bob)
    login(bob)
    response = keep(client, ref, then="plan")
    draft = the_draft()
    assert response.location.endswith(f"/portal/plan?draft={draft.id}")
    plans = client.get(response.location).get_data(as_text=True)
    payg = plan("Pay as you go").id
    assert f'href="/portal/plan/{payg}?draft={draft.id}"' in plans and "Back to your ticket draft" in plans
    confirm = client.get(f"/portal/plan/{payg}?draft={draft.id}").get_data(as_text=True)
    assert f'action="/portal/plan/{payg}?draft={draft.id}"' in confirm
    switched = client.post(f"/portal/plan/{payg}?draft={draft.id}")
    assert switched.location.endswith(f"/portal/tickets/new?draft={draft.id}")
    page = client.get(switched.location).get_data(as_text=True)
    assert "You are now on the Pay as you go plan" in page and "Your draft is back" in page
    assert "Short by 150 credits" in page  # Urgent is on the plan now; 100 credits to start


def test_someone_else_s_draft_id_on_the_plan_page_is_ignored(client, sam, ref, make, login):
    keep(client, ref, then="plan")
    draft = the_draft()
    login(make.customer())
    page = client.get(f"/portal/plan?draft={draft.id}").get_data(as_text=True)
    assert "Back to your ticket draft" not in page and f"draft={draft.id}" not in page
