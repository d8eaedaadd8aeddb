"""Re-authentication: money-moving and role-changing actions from a session whose last password or code
is older than REAUTH_MINUTES get "Confirm it's you", which keeps what was submitted and, once
confirmed, performs the action exactly once."""

import html
import re
import time

import pyotp
import pytest
from sqlalchemy import func, select

from helpdesk.accounts import two_factor
from helpdesk.accounts.models import AuditEvent, CategoryPermission, User
from helpdesk.billing.models import CreditPack
from helpdesk.credits.models import LedgerEntry
from helpdesk.extensions import db
from helpdesk.tickets.models import Priority
from tests.credit_helpers import balance_of, bank, plan
from tests.factories import PASSWORD

from .agent_support import HTMX


def make_stale(app, client):
    with client.session_transaction() as sess:
        sess["auth_at"] = time.time() - (app.config["REAUTH_MINUTES"] * 60 + 1)


def hidden_fields(page):
    return dict(
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    )


@pytest.fixture
def admin(client, login, make):
    user = make.admin()
    login(user)
    return user


def _actions(make, ref):
    """Each protected action: (path, form data, how many rows it writes, a count of those rows)."""
    customer = make.customer(email="cust@example.com")
    tech = make.technician()
    locked_out = make.customer(email="locked-out@example.com")
    secret = two_factor.new_secret()
    two_factor.enable(locked_out, secret, pyotp.TOTP(secret).now())
    account = bank("Pay as you go", 100, user=customer)
    urgent = db.session.scalar(select(Priority).where(Priority.name == "Urgent"))
    business = plan("Business")

    def entries():
        return db.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.account_id == account.id)
        )

    def audits():
        return db.session.scalar(select(func.count(AuditEvent.id)))

    def packs():
        return db.session.scalar(select(func.count(CreditPack.id)))

    return {
        "adjust": (
            f"/admin/credits/banks/{account.id}/adjust",
            {"amount": "50", "reason": "Goodwill", "submission_key": "adjust-1", "confirmed_action": "yes"},
            entries,
        ),
        "move plan": (f"/admin/credits/banks/{account.id}/plan", {"plan": str(business.id)}, entries),
        "tariff": (
            f"/admin/credits/tariffs/{urgent.id}",
            {"credit_cost": "300", "response_minutes": "30"},
            lambda: db.session.scalar(select(Priority.credit_cost).where(Priority.id == urgent.id)) == 300,
        ),
        "role": (f"/admin/users/{customer.id}/role", {"role": "technician", "confirmed": "y"}, audits),
        "active": (f"/admin/users/{tech.id}/active", {"active": "0", "confirmed_action": "yes"}, audits),
        "new user": (
            "/admin/users/new",
            {"name": "Nina New", "email": "nina@example.com", "role": "customer"},
            lambda: db.session.scalar(select(func.count(User.id)).where(User.email == "nina@example.com")),
        ),
        "details": (
            f"/admin/users/{customer.id}/details",
            {"name": "Cust Renamed", "email": "cust@example.com"},
            audits,
        ),
        "two factor": (
            f"/admin/users/{locked_out.id}/two-factor/disable",
            {"confirmed_action": "yes"},
            audits,
        ),
        "permission": (
            f"/admin/permissions/{tech.id}/{ref.categories['IT'].id}",
            {"perm": f"{tech.id}:{ref.categories['IT'].id}"},
            lambda: db.session.scalar(select(func.count(CategoryPermission.id))),
        ),
        "pack": (
            "/admin/billing/packs/new",
            {"name": "Mega", "credits": "10000", "price": "650.00", "currency": "usd", "active": "y"},
            packs,
        ),
    }


ACTIONS = [
    "adjust",
    "move plan",
    "tariff",
    "role",
    "active",
    "new user",
    "details",
    "two factor",
    "permission",
    "pack",
]


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_stale_session_is_asked_to_confirm_keeping_every_field(app, client, admin, make, ref, name, htmx):
    path, data, written = _actions(make, ref)[name]
    db.session.commit()
    before = written()
    make_stale(app, client)
    response = client.post(path, data=data, headers=HTMX if htmx else {})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Confirm it's you" in page
    assert f'action="{path}"' in page and '<label for="reauth_password">' in page
    fields = hidden_fields(page)
    assert {k: v for k, v in fields.items() if k in data} == data and fields["reauth"] == "1"
    if htmx:
        assert response.headers["HX-Retarget"] == "body" and response.headers["HX-Reswap"] == "innerHTML"
    db.session.expire_all()
    assert written() == before  # nothing done yet


@pytest.mark.parametrize("name", ACTIONS)
def test_confirming_performs_the_action_exactly_once(app, client, admin, make, ref, name):
    path, data, written = _actions(make, ref)[name]
    db.session.commit()
    before = written()
    make_stale(app, client)
    page = client.post(path, data=data).get_data(as_text=True)
    resubmitted = {**hidden_fields(page), "reauth_password": PASSWORD}
    response = client.post(path, data=resubmitted)
    assert response.status_code in (200, 302) and "Confirm it" not in response.get_data(as_text=True)
    db.session.expire_all()
    after = written()
    assert after is True or after == before + 1
    again = client.post(path, data=data)  # recent now: no question asked (a second new user: refused)
    assert again.status_code in (200, 302, 422) and "Confirm it" not in again.get_data(as_text=True)


def test_a_wrong_password_does_nothing_and_asks_again(app, client, admin, make, ref):
    account = bank("Pay as you go", 100, user=make.customer())
    make_stale(app, client)
    path = f"/admin/credits/banks/{account.id}/adjust"
    page = client.post(
        path, data={"amount": "50", "reason": "Goodwill", "reauth": "1", "reauth_password": "nope"}
    )
    text = page.get_data(as_text=True)
    assert "That is not right" in text and 'value="Goodwill"' in text
    assert balance_of(account) == 100


def test_confirming_is_throttled(app, client, admin, make, ref):
    account = bank("Pay as you go", 100, user=make.customer())
    make_stale(app, client)
    path = f"/admin/credits/banks/{account.id}/adjust"
    wrong = {"amount": "50", "reason": "Goodwill", "reauth": "1", "reauth_password": "nope"}
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post(path, data=wrong)
    page = client.post(path, data={**wrong, "reauth_password": PASSWORD}).get_data(as_text=True)
    assert "Too many failed attempts" in page and balance_of(account) == 100


def test_a_recent_sign_in_is_not_asked(client, admin, make, ref):
    account = bank("Pay as you go", 100, user=make.customer())
    client.post(
        f"/admin/credits/banks/{account.id}/adjust",
        data={"amount": "50", "reason": "Goodwill", "submission_key": "adjust-1", "confirmed_action": "yes"},
    )
    assert balance_of(account) == 150


def test_signing_in_again_counts_as_recent(app, client, make, ref):
    make.admin(email="boss@example.com")
    account = bank("Pay as you go", 100, user=make.customer())
    assert client.post("/login", data={"email": "boss@example.com", "password": PASSWORD}).status_code == 302
    client.post(
        f"/admin/credits/banks/{account.id}/adjust",
        data={"amount": "50", "reason": "Goodwill", "submission_key": "adjust-1", "confirmed_action": "yes"},
    )
    assert balance_of(account) == 150


def test_a_phone_order_is_protected_too(app, client, admin, make):
    make_stale(app, client)
    page = client.post(
        "/admin/billing/phone-order", data={"email": "x@example.com", "pack_id": "1", "nonce": "n"}
    )
    assert "Confirm it's you" in page.get_data(as_text=True)
