"""Credits, people and knowledge-base articles through the API: the same viewers as their pages
(a bank's members and admins; people for admins; articles for whoever may read them)."""

import pytest

from helpdesk.credits import ledger

from ..credit_helpers import bank
from ..kb_support import write
from .api_support import bearer, is_problem, revoke


def test_a_customer_reads_their_bank_and_its_statement_page_by_page(client, desk):
    account = bank("Business", 500, user=desk.requester)
    for n in range(3):
        ledger.adjust(account, 10, f"Goodwill {n}", desk.admin)
    headers = bearer(desk.requester)
    mine = client.get("/api/v1/credits/bank", headers=headers).get_json()
    assert mine["id"] == account.id and mine["balance"] == 530 and mine["owner"] == "Alice Archer"
    page = client.get(f"{mine['entries_url']}?limit=2", headers=headers).get_json()
    amounts = [e["amount"] for e in page["items"]]
    assert page["items"][0]["balance_after"] == 530
    while page["next"]:
        page = client.get(page["next"], headers=headers).get_json()
        amounts += [e["amount"] for e in page["items"]]
    assert amounts[:3] == [10, 10, 10] and len(amounts) >= 4


@pytest.mark.parametrize(
    "role,visible", [("requester", True), ("admin", True), ("customer", False), ("tech_it", False)]
)
def test_a_bank_answers_404_to_whoever_may_not_see_it(client, desk, role, visible):
    account = bank("Business", 100, user=desk.requester)
    headers = bearer(getattr(desk, role))
    read = client.get(f"/api/v1/credits/banks/{account.id}", headers=headers)
    entries = client.get(f"/api/v1/credits/banks/{account.id}/entries", headers=headers)
    if visible:
        assert read.status_code == 200 and entries.status_code == 200
    else:
        assert is_problem(read, 404) and is_problem(entries, 404)


def test_a_quote_is_the_plans_price(client, desk):
    bank("Business", 100, user=desk.requester)
    headers = bearer(desk.requester)
    urgent = client.get(
        f"/api/v1/credits/quote?priority_id={desk.ref.priorities['Urgent'].id}", headers=headers
    )
    body = urgent.get_json()
    assert (
        body["cost"] == 250
        and body["balance"] == 100
        and body["available"] is False
        and body["shortfall"] > 0
    )
    assert is_problem(client.get("/api/v1/credits/quote", headers=headers), 422)
    assert is_problem(client.get("/api/v1/credits/quote?priority_id=99999", headers=headers), 404)


@pytest.mark.parametrize("role", ["admin", "tech_it", "requester"])
def test_people_are_for_admins(client, desk, role):
    headers = bearer(getattr(desk, role))
    answers = [
        client.get("/api/v1/users?limit=2", headers=headers),
        client.get(f"/api/v1/users/{desk.tech_it.id}", headers=headers),
        client.get(f"/api/v1/users/{desk.tech_it.id}/permissions", headers=headers),
        client.get("/api/v1/organizations", headers=headers),
    ]
    if role == "admin":
        assert all(a.status_code == 200 for a in answers)
        assert answers[0].get_json()["next"] and len(answers[0].get_json()["items"]) == 2
        assert answers[1].get_json()["email"] == "ivan@example.com"
        assert {c["name"] for c in answers[2].get_json()["categories"]} == {"IT", "Billing"}
    else:
        assert all(is_problem(a, 404) for a in answers)


def test_articles_for_whoever_may_read_them(client, desk):
    public = write(desk.tech_it, desk.it, "Reset your password")
    internal = write(desk.tech_it, desk.it, "Router admin console", visibility="agents")
    draft = write(desk.tech_it, desk.it, "Unfinished", status="draft")
    for role, expected in (("requester", {public.id}), ("tech_sales", {public.id, internal.id})):
        headers = bearer(getattr(desk, role))
        listed = {a["id"] for a in client.get("/api/v1/kb/articles", headers=headers).get_json()["items"]}
        assert listed == expected
    customer = bearer(desk.requester)
    read = client.get(f"/api/v1/kb/articles/{public.id}", headers=customer).get_json()
    assert read["title"] == "Reset your password" and "All about" in read["body"]
    assert is_problem(client.get(f"/api/v1/kb/articles/{internal.id}", headers=customer), 404)
    assert is_problem(client.get(f"/api/v1/kb/articles/{draft.id}", headers=customer), 404)
    assert (
        client.get(f"/api/v1/kb/articles/{draft.id}", headers=bearer(desk.tech_it)).status_code == 200
    )  # its editor


def test_a_kept_article_is_not_replayed_once_out_of_sight(client, desk):
    """A retry with the Idempotency-Key after the technician lost the category got the kept answer:
    the draft's title and text, which now answers them 404."""
    data = {"category_id": desk.it.id, "title": "VPN escalation", "body": "Call the vendor at 555."}
    headers = bearer(desk.tech_it) | {"Idempotency-Key": "kb-draft-1"}
    made = client.post("/api/v1/kb/articles", json=data, headers=headers)
    assert made.status_code == 201 and made.get_json()["article"]["status"] == "draft"
    revoke(desk.tech_it, desk.it)
    assert is_problem(client.get(made.headers["Location"], headers=headers), 404)
    retried = client.post("/api/v1/kb/articles", json=data, headers=headers)
    assert is_problem(retried, 404) and "555" not in retried.get_data(as_text=True)


def test_a_categorys_technicians_write_its_articles(client, desk):
    data = {"category_id": desk.it.id, "title": "VPN set-up", "body": "Install the client.", "publish": True}
    headers = bearer(desk.tech_it) | {"Idempotency-Key": "kb-1"}
    made = client.post("/api/v1/kb/articles", json=data | {"tags": ["vpn"]}, headers=headers)
    again = client.post("/api/v1/kb/articles", json=data | {"tags": ["vpn"]}, headers=headers)
    article = made.get_json()["article"]
    assert (
        made.status_code == 201 and article["status"] == "published" and again.get_json() == made.get_json()
    )
    customer = bearer(desk.requester)
    assert client.get(f"/api/v1/kb/articles/{article['id']}", headers=customer).status_code == 200
    elsewhere = client.post(
        "/api/v1/kb/articles", json=data | {"category_id": desk.sales.id}, headers=bearer(desk.tech_it)
    )
    assert is_problem(elsewhere, 403)
    assert is_problem(client.post("/api/v1/kb/articles", json=data, headers=customer), 403)
    read_only = bearer(desk.tech_it, scopes=["kb:read"])
    assert is_problem(client.post("/api/v1/kb/articles", json=data, headers=read_only), 403)


@pytest.mark.parametrize("role", ["admin", "requester", "tech_it"])
def test_admins_adjust_a_bank_with_a_reason_once_per_key(client, desk, role):
    from ..credit_helpers import balance_of

    account = bank("Business", 100, user=desk.requester)
    headers = bearer(getattr(desk, role)) | {"Idempotency-Key": "goodwill-7"}
    url = f"/api/v1/credits/banks/{account.id}/adjustments"
    first = client.post(url, json={"amount": 50, "reason": "Goodwill"}, headers=headers)
    if role != "admin":
        assert is_problem(first, 404) and balance_of(account) == 100
        return
    again = client.post(url, json={"amount": 50, "reason": "Goodwill"}, headers=headers)
    assert first.status_code == 201 and again.get_json() == first.get_json() and balance_of(account) == 150
    assert first.get_json()["entry"]["memo"] == "Goodwill"
    unreasoned = client.post(url, json={"amount": 5, "reason": " "}, headers=bearer(desk.admin))
    assert is_problem(unreasoned, 422) and unreasoned.get_json()["errors"][0]["field"] == "reason"
    below = client.post(url, json={"amount": -10_000, "reason": "Oops"}, headers=bearer(desk.admin))
    assert is_problem(below, 422) and balance_of(account) == 150
