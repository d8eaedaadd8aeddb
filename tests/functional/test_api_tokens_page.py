"""/account/tokens: a token is made with a name, scopes and a lifetime, shown once, listed with
its last use, and revoked at once; only its owner sees or revokes it."""

import re

from helpdesk.api.models import ApiToken
from helpdesk.extensions import db


def _make(client, **fields):
    data = {"name": "Monitoring", "scopes": ["tickets:read"], "days": "30"} | fields
    return client.post("/account/tokens", data=data)


def test_a_token_is_shown_once_and_works_as_its_owner(app, client, login, desk):
    login(desk.tech_it)
    page = _make(client)
    text = page.get_data(as_text=True)
    secret = re.search(r'value="(hd_[^"]+)"', text).group(1)
    assert page.status_code == 201 and "shown only this once" in text
    token = db.session.scalars(db.select(ApiToken)).one()
    assert token.token_hash != secret and secret not in token.token_hash and token.scopes == "tickets:read"
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "Monitoring" in listing and secret not in listing and "Never" in listing

    other = app.test_client()  # no session cookie: the token alone
    api = other.get(f"/api/v1/tickets/{desk.it_ticket.id}", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200


def test_a_write_scope_brings_its_read_scope(client, login, desk):
    login(desk.requester)
    _make(client, scopes=["tickets:write"])
    assert db.session.scalars(db.select(ApiToken)).one().scopes == "tickets:read tickets:write"


def _offered(page):
    boxes = re.findall(r'<input [^>]*name="scopes"[^>]*>', page)
    assert boxes and not any("required" in box for box in boxes)  # one at least, not each
    return [re.search(r'value="([a-z]+:[a-z]+)"', box).group(1) for box in boxes]


def test_each_role_is_offered_the_scopes_its_tokens_can_use(client, login, desk):
    """A grid of Read and Write per domain; people and credit adjustments are admins' only,
    writing articles agents': a customer was offered eight boxes, five of which could do nothing."""
    login(desk.requester)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert _offered(page) == ["tickets:read", "tickets:write", "credits:read", "kb:read"]
    assert '<label class="visually-hidden" for="scopes-0">Tickets and messages: read</label>' in page
    refused = _make(client, scopes=["people:read"])
    assert refused.status_code == 422 and "Scopes: choose from the listed options." in refused.get_data(
        as_text=True
    )
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0
    login(desk.tech_it)
    assert _offered(client.get("/account/tokens").get_data(as_text=True)) == [
        "tickets:read", "tickets:write", "credits:read", "kb:read", "kb:write",
    ]  # fmt: skip
    login(desk.admin)
    offered = _offered(client.get("/account/tokens").get_data(as_text=True))
    assert offered == [
        f"{d}:{level}" for d in ("tickets", "credits", "people", "kb") for level in ("read", "write")
    ]


def test_bad_input_is_explained_and_makes_nothing(client, login, desk):
    login(desk.requester)
    answer = _make(client, name="", scopes=[])
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Choose at least one scope." in text
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0
    assert _make(client, days="3").status_code == 422


def test_revoking_is_for_the_owner_and_immediate(app, client, login, desk):
    login(desk.requester)
    text = _make(client).get_data(as_text=True)
    secret = re.search(r'value="(hd_[^"]+)"', text).group(1)
    token = db.session.scalars(db.select(ApiToken)).one()
    login(desk.customer)
    client.post(f"/account/tokens/{token.id}/revoke")
    assert "You have no tokens yet." in client.get("/account/tokens").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    login(desk.requester)
    followed = client.post(f"/account/tokens/{token.id}/revoke", follow_redirects=True)
    assert "Token revoked" in followed.get_data(as_text=True) and "Revoked" in followed.get_data(as_text=True)
    assert (
        app.test_client().get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 401
    )


def test_a_session_signed_in_long_ago_confirms_first(app, client, login, desk):
    import time

    login(desk.requester)
    with client.session_transaction() as sess:
        sess["auth_at"] = time.time() - (app.config["REAUTH_MINUTES"] * 60 + 1)
    assert client.get("/account/tokens").status_code == 200  # reading the list needs no confirmation
    answer = _make(client)
    assert "Confirm it" in answer.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0


def test_the_page_needs_a_signed_in_user(client):
    answer = client.get("/account/tokens")
    assert answer.status_code == 302 and "/login" in answer.location
