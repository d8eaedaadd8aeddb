"""`flask api prune-idempotency`: the answers kept for Idempotency-Keys go after
API_IDEMPOTENCY_KEEP_HOURS (or --hours); younger ones stay and still replay."""

from datetime import timedelta

from sqlalchemy import select

from helpdesk.api.models import IdempotentRequest
from helpdesk.config import from_environment
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db

from .api_support import bearer


def _post_organization(client, headers, key, name):
    return client.post(
        "/api/v1/organizations", json={"name": name}, headers=headers | {"Idempotency-Key": key}
    )


def _kept():
    db.session.expire_all()
    return sorted(db.session.scalars(select(IdempotentRequest.location)).all())


def _age(organization, hours):
    """Make the answer kept for this organization's create `hours` old."""
    for row in db.session.scalars(select(IdempotentRequest)):
        if row.location.endswith(f"/organizations/{organization['id']}"):
            row.created_at = utcnow() - timedelta(hours=hours)
    db.session.commit()


def test_old_answers_are_pruned_and_young_ones_still_replay(app, client, desk):
    headers = bearer(desk.admin)
    old = _post_organization(client, headers, "old-key", "Old Co").get_json()["organization"]
    young = _post_organization(client, headers, "young-key", "Young Co").get_json()["organization"]
    _age(old, 25)
    result = app.test_cli_runner().invoke(args=["api", "prune-idempotency"])
    assert result.exit_code == 0 and "deleted 1 Idempotency-Key answers older than 24 hours" in result.output
    assert _kept() == [f"/api/v1/organizations/{young['id']}"]
    replay = _post_organization(client, headers, "young-key", "Young Co")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    fresh = _post_organization(client, headers, "old-key", "Old Co")  # the key is free again
    assert fresh.status_code == 422 and "already" in fresh.get_json()["detail"]  # the name's rule now


def test_the_hours_kept_come_from_the_setting_or_the_option(app, client, desk, monkeypatch):
    headers = bearer(desk.admin)
    made = _post_organization(client, headers, "k1", "Five Hours").get_json()["organization"]
    _age(made, 5)
    runner = app.test_cli_runner()
    monkeypatch.setitem(app.config, "API_IDEMPOTENCY_KEEP_HOURS", 6)
    assert "deleted 0" in runner.invoke(args=["api", "prune-idempotency"]).output and len(_kept()) == 1
    monkeypatch.setitem(app.config, "API_IDEMPOTENCY_KEEP_HOURS", 4)
    assert "deleted 1" in runner.invoke(args=["api", "prune-idempotency"]).output and _kept() == []
    bad = runner.invoke(args=["api", "prune-idempotency", "--hours", "0"])
    assert bad.exit_code != 0 and "0" in bad.output
    _post_organization(client, headers, "k2", "Two Hours")
    for row in db.session.scalars(select(IdempotentRequest)):
        row.created_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    assert (
        "deleted 1 Idempotency-Key answers older than 1 hours"
        in runner.invoke(args=["api", "prune-idempotency", "--hours", "1"]).output
    )


def test_the_setting_comes_from_the_environment_too():
    assert from_environment({"HELPDESK_API_IDEMPOTENCY_KEEP_HOURS": "48"}) == {
        "API_IDEMPOTENCY_KEEP_HOURS": 48
    }


def test_a_ticket_retried_after_pruning_is_still_not_made_twice(app, client, desk):
    headers = bearer(desk.requester) | {"Idempotency-Key": "late-retry"}
    data = {
        "subject": "Retried a day later",
        "body": "Once.",
        "category_id": desk.it.id,
        "priority_id": desk.ref.priorities["Normal"].id,
    }
    first = client.post("/api/v1/tickets", json=data, headers=headers).get_json()
    for row in db.session.scalars(select(IdempotentRequest)):
        row.created_at = utcnow() - timedelta(hours=30)
    db.session.commit()
    assert "deleted 1" in app.test_cli_runner().invoke(args=["api", "prune-idempotency"]).output
    late = client.post("/api/v1/tickets", json=data, headers=headers)
    assert "Idempotent-Replayed" not in late.headers  # the kept answer is gone...
    assert late.get_json()["ticket"]["id"] == first["ticket"]["id"]  # ...the submission key still holds
    assert late.get_json()["created"] is False and first["created"] is True


def test_an_adjustment_retried_after_pruning_is_still_booked_once(app, client, desk):
    from ..credit_helpers import balance_of, bank

    account = bank("Business", 100, user=desk.requester)
    headers = bearer(desk.admin) | {"Idempotency-Key": "goodwill-late"}
    url = f"/api/v1/credits/banks/{account.id}/adjustments"
    first = client.post(url, json={"amount": 50, "reason": "Goodwill"}, headers=headers)
    assert first.status_code == 201 and balance_of(account) == 150
    for row in db.session.scalars(select(IdempotentRequest)):
        row.created_at = utcnow() - timedelta(hours=30)
    db.session.commit()
    assert "deleted 1" in app.test_cli_runner().invoke(args=["api", "prune-idempotency"]).output
    late = client.post(url, json={"amount": 50, "reason": "Goodwill"}, headers=headers)
    assert "Idempotent-Replayed" not in late.headers  # the kept answer is gone...
    assert late.get_json()["entry"]["id"] == first.get_json()["entry"]["id"]  # ...the ledger key holds
    assert late.get_json()["created"] is False and first.get_json()["created"] is True
    assert balance_of(account) == 150


def test_two_admins_with_the_same_key_each_book_their_adjustment(client, desk, make):
    from ..credit_helpers import balance_of, bank

    account = bank("Business", 100, user=desk.requester)
    other = make.admin(name="Otto Other", email="otto@example.com")
    url = f"/api/v1/credits/banks/{account.id}/adjustments"
    data = {"amount": 50, "reason": "Goodwill"}
    first = client.post(url, json=data, headers=bearer(desk.admin) | {"Idempotency-Key": "goodwill"})
    second = client.post(url, json=data, headers=bearer(other) | {"Idempotency-Key": "goodwill"})
    assert first.get_json()["created"] is True and second.get_json()["created"] is True
    assert second.get_json()["entry"]["id"] != first.get_json()["entry"]["id"]
    assert balance_of(account) == 200
