"""Nothing a user sends to the plan, draft, request and limit addresses answers 500: ids no row can
have (beyond PostgreSQL's INTEGER) and other nonsense read as "none"."""

import pytest

from tests.credit_helpers import bank

BIG = "99999999999999"


@pytest.mark.parametrize(
    "url",
    [
        f"/portal/plan/{BIG}",
        f"/portal/plan?draft={BIG}",
        "/portal/plan?draft=abc",
        f"/portal/tickets/new?draft={BIG}",
        "/portal/tickets/new?draft=-3",
        f"/billing/?request={BIG}",
        f"/portal/tickets/new?priority={BIG}&category={BIG}",
        f"/portal/tickets/new/quote?priority={BIG}&category={BIG}",
        "/portal/organization/usage?month=9999-99",
    ],
)
def test_nonsense_in_the_address_never_errors(client, login, make, ref, url):
    login(make.customer())
    assert client.get(url).status_code in (200, 302, 404)


@pytest.mark.parametrize(
    "url, data",
    [
        (
            f"/portal/tickets/new/draft?then=buy&wanted={BIG}",
            {"submission_key": "k", "category": BIG, "priority": BIG},
        ),
        (f"/portal/tickets/new/draft?then=ask&wanted={BIG}", {"submission_key": "k", "category": BIG}),
        ("/portal/tickets/new/draft?then=plan", {"submission_key": "k", "category": "x"}),
        (f"/portal/plan/{BIG}", {}),
        (f"/portal/plan/1?draft={BIG}", {}),
        (f"/portal/organization/members/{BIG}/cap", {"monthly_cap": "5"}),
        ("/portal/organization/members/1/cap", {"monthly_cap": BIG}),
        ("/portal/credit-requests", {"amount": BIG}),
    ],
)
def test_nonsense_in_a_form_never_errors(client, login, make, ref, url, data):
    org = make.OrganizationFactory()
    bank("Pay as you go", 0, organization=org)
    login(make.customer(organization=org, is_org_manager="/cap" in url))
    assert client.post(url, data=data).status_code in (200, 302, 303, 404, 422)
