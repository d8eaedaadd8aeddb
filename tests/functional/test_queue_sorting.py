"""Sortable column headers: each runs both ways, keeps the other filters, and pages by keyset."""

import re

import pytest

from .test_agent_queue import subjects
from .test_agent_queue_pages import eleven, link  # noqa: F401  (the fixture)

NATURAL = {"due_desc": "due", "priority_asc": "priority", "updated_asc": "updated"}


def every_page(client, url):
    seen = []
    while url:
        response = client.get(url)
        seen.extend(subjects(response))
        url = link(response, "next")
    return seen


@pytest.mark.parametrize("flipped", sorted(NATURAL))
def test_a_reversed_sort_lists_the_natural_order_backwards_over_keyset_pages(client, login, eleven, flipped):  # noqa: F811
    login(eleven.tech_it)
    natural = every_page(client, f"/agent/?sort={NATURAL[flipped]}")
    backwards = every_page(client, f"/agent/?sort={flipped}")
    assert len(natural) == 12 and backwards == list(reversed(natural))


def header(html, label):
    """The <th> of the column whose link text starts with `label`."""
    return re.search(rf'<th scope="col"[^>]*><a [^>]*>{label}<.*?</th>', html).group(0)


def href(th):
    return re.search(r'href="([^"]+)"', th).group(1).replace("&amp;", "&")


def test_headers_sort_both_ways_keep_the_filters_and_mark_the_sorted_column(client, login, eleven):  # noqa: F811
    login(eleven.tech_it)
    html = client.get(f"/agent/?category={eleven.it.id}&assignee=unassigned").get_data(as_text=True)
    due = header(html, "Due")
    assert "aria-sort" not in due  # sorted by "Needs attention": no column is
    assert href(due) == f"/agent/?category={eleven.it.id}&assignee=unassigned&sort=due"
    assert "Subject</th>" in html and "<a" not in html.split("Subject</th>")[0].rsplit("<th", 1)[1]

    html = client.get(href(due)).get_data(as_text=True)
    due = header(html, "Due")
    assert 'aria-sort="ascending"' in due and "sort by reply-by time, latest first" in due
    assert href(due) == f"/agent/?category={eleven.it.id}&assignee=unassigned&sort=due_desc"
    assert "aria-sort" not in header(html, "Updated")

    html = client.get(href(due)).get_data(as_text=True)
    assert 'aria-sort="descending"' in header(html, "Due")
    assert href(header(html, "Due")) == f"/agent/?category={eleven.it.id}&assignee=unassigned&sort=due"
    assert '<option value="due_desc" selected>' in html  # the filter form keeps the reversed sort


def test_header_links_leave_paging_out(client, login, eleven):  # noqa: F811
    login(eleven.tech_it)
    second = link(client.get("/agent/?sort=updated"), "next")
    html = client.get(second).get_data(as_text=True)
    updated = header(html, "Updated")
    assert 'aria-sort="descending"' in updated and href(updated) == "/agent/?sort=updated_asc"


def test_an_unknown_sort_falls_back_to_needs_attention(client, login, eleven):  # noqa: F811
    login(eleven.tech_it)
    response = client.get("/agent/?sort=subject_desc")
    assert response.status_code == 200 and "aria-sort" not in response.get_data(as_text=True)
