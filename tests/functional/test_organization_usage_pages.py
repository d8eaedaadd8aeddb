"""An organization's usage page lists its members a page at a time (an organization can have
thousands), by name, each with their month's figures; the CSV still has every one of them, and an
odd page number is answered with a page, never a server error."""

import re
from datetime import UTC, datetime

import pytest

from helpdesk.accounts.models import User
from helpdesk.credits import ledger as credits
from helpdesk.extensions import db
from tests.csv_support import spreadsheet_records

from .test_agent_time_entries import text_of
from .test_organizations_credits import acme, spend  # noqa: F401 (acme: a fixture)

PER_PAGE = 25  # the app's PER_PAGE


@pytest.fixture
def crowd(acme, make):  # noqa: F811
    """Acme with 60 more members, "Member 01" to "Member 60": 62 people by name, Carol and Dave first."""
    for n in range(1, 61):
        make.customer(organization=acme.org, name=f"Member {n:02d}", email=f"member{n:02d}@example.com")
    db.session.commit()
    return acme


def names(page):
    return re.findall(r'<th scope="row" hx-disable>([^<(]+?)(?: \(|</th>)', page)


def test_the_usage_page_lists_members_a_page_at_a_time(client, login, crowd, ref):
    credits.post_entry(crowd.bank.id, 2000, "adjustment", idempotency_key="test:top-up")
    month = datetime.now(UTC)
    spend(crowd.dave, ref, month, "High", "this-month")
    login(crowd.carol)
    period = month.strftime("%Y-%m")
    first = client.get("/portal/organization/usage")
    page = first.get_data(as_text=True)
    assert names(page) == ["Carol Carter", "Dave Dunn"] + [f"Member {n:02d}" for n in range(1, 24)]
    assert "62 members, page 1 of 3" in text_of(first)
    dave_row = page.split(f'id="member-{crowd.dave.id}"')[1].split("</tr>")[0]
    assert "150" in dave_row
    next_url = f"/portal/organization/usage?month={period}&amp;page=2"
    assert f'<a href="{next_url}" rel="next">Next</a>' in page
    second = client.get(f"/portal/organization/usage?month={period}&page=2").get_data(as_text=True)
    assert names(second) == [f"Member {n:02d}" for n in range(24, 49)]
    third = client.get(f"/portal/organization/usage?month={period}&page=3")
    assert names(third.get_data(as_text=True)) == [f"Member {n:02d}" for n in range(49, 61)]
    assert "62 members, page 3 of 3" in text_of(third) and 'rel="next"' not in third.get_data(as_text=True)
    rows = spreadsheet_records(client.get(f"/portal/organization/usage.csv?month={period}"))
    assert len(rows) == 62 and sum(int(r["net_spent"]) for r in rows) == 150  # the CSV: everyone


def test_a_limit_set_on_a_later_page_comes_back_to_that_page(client, login, crowd):
    login(crowd.carol)
    member = db.session.scalar(db.select(User).where(User.name == "Member 30"))
    period = datetime.now(UTC).strftime("%Y-%m")
    second = client.get(f"/portal/organization/usage?month={period}&page=2").get_data(as_text=True)
    action = f"/portal/organization/members/{member.id}/cap?month={period}&amp;page=2"
    assert f'action="{action}"' in second
    response = client.post(action.replace("&amp;", "&"), data={"monthly_cap": "70"})
    assert response.location.endswith(f"/portal/organization/usage?month={period}&page=2#member-{member.id}")
    assert 'value="70"' in client.get(response.location).get_data(as_text=True)


@pytest.mark.parametrize("odd", ["²", "-1", "0", "9" * 30, "abc", "99"])
def test_an_odd_or_past_the_end_page_is_answered_with_a_page(client, login, crowd, odd):
    login(crowd.carol)
    response = client.get("/portal/organization/usage", query_string={"page": odd})
    assert response.status_code == 200
    if odd == "99":
        assert "There is no page 99: the list has 3 pages. Go to the last page" in text_of(response)
    else:
        assert names(response.get_data(as_text=True))[:2] == ["Carol Carter", "Dave Dunn"]
