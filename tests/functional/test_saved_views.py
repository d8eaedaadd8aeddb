"""Personal saved views: save the queue's filters and sort under a name, counted like the list."""

import re

import pytest
from sqlalchemy import delete, func, select

from helpdesk.accounts.models import CategoryPermission
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import saved_views
from helpdesk.tickets.saved_view_models import SavedView

from .agent_support import HTMX
from .test_agent_queue import subjects


def save(client, query, name, **extra):
    return client.post(f"/agent/views/saved?{query}", data={"name": name, **extra})


def counts_page(client):
    """{view label: count as shown} from the views page (what the sidebar gets, as a page)."""
    html = client.get("/agent/views").get_data(as_text=True)
    return {m[0]: m[1] for m in re.findall(r'<li><a href="[^"]*">([^<]+)</a>: ([\d,+]+) tickets?</li>', html)}


def my_views(user):
    db.session.expire_all()
    return db.session.scalars(select(SavedView).where(SavedView.owner_id == user.id)).all()


def test_saving_the_queue_keeps_its_filters_and_sort_and_shows_it_in_the_sidebar(client, login, desk):
    login(desk.tech_it)
    response = save(client, f"status=all&category={desk.it.id}&sort=due_desc&after=d.1.2", "  IT,   all  ")
    assert response.status_code == 302
    assert response.location == f"/agent/?status=all&category={desk.it.id}&sort=due_desc"  # paging left out
    page = client.get(response.location).get_data(as_text=True)
    assert "View “IT, all” saved" in page
    sidebar = page.split('id="sidebar-my-views"')[1]
    assert re.search(
        r'<a href="/agent/\?status=all&amp;category=\d+&amp;sort=due_desc" aria-current="page">IT, all',
        sidebar,
    )
    [view] = my_views(desk.tech_it)
    assert view.name == "IT, all"  # spaces collapsed


def test_a_saved_views_count_is_the_lists_count(client, login, desk, make):
    for n in range(3):
        make.ticket(subject=f"Printer {n}", requester=desk.requester, category=desk.it, priority=desk.ref.priorities["Low"], status="resolved" if n == 2 else "open")  # fmt: skip
    db.session.commit()
    login(desk.admin)
    save(client, f"category={desk.it.id}", "IT active")
    save(client, "status=all&q=printer", "Printers, any status")  # not in the one aggregate: counted alone
    counts = counts_page(client)
    assert counts["IT active"] == str(len(subjects(client.get(f"/agent/?category={desk.it.id}")))) == "3"
    assert (
        counts["Printers, any status"]
        == str(len(subjects(client.get("/agent/?status=all&q=printer"))))
        == "3"
    )
    fragment = client.get("/agent/views", headers=HTMX).get_data(as_text=True)
    [view] = [v for v in my_views(desk.admin) if v.name == "IT active"]
    assert f'<span id="view-count-saved-{view.id}" class="count" hx-swap-oob="true">3<' in fragment


def test_a_view_never_counts_tickets_its_owner_may_not_see(client, login, desk, make):
    make.ticket(subject="Another quote", requester=desk.requester, category=desk.sales, priority=desk.ref.priorities["Low"])  # fmt: skip
    db.session.commit()
    login(desk.tech_it)  # IT and Billing, not Sales
    refused = save(client, f"category={desk.sales.id}", "Sales")
    assert "That category is not one of yours" in refused.get_data(
        as_text=True
    ) and 'value="Sales"' in refused.get_data(as_text=True)
    save(client, f"category={desk.it.id}", "IT")
    save(client, "status=all", "Everything")
    save(client, "status=all&q=quote", "Quotes")
    counts = counts_page(client)
    assert "Sales" not in counts and counts["Quotes"] == "0"
    assert counts["Everything"] == "1" == str(len(subjects(client.get("/agent/?status=all"))))
    # Losing IT: the saved views follow the policy at once.
    db.session.execute(delete(CategoryPermission).where(CategoryPermission.user_id == desk.tech_it.id, CategoryPermission.category_id == desk.it.id))  # fmt: skip
    db.session.commit()
    make.ticket(subject="Invoice copy", requester=desk.requester, category=desk.ref.categories["Billing"], priority=desk.ref.priorities["Low"])  # fmt: skip
    db.session.commit()
    counts = counts_page(client)
    assert counts["Everything"] == "1"  # the Billing ticket only
    # The "IT" view lists what the queue shows for a category no longer theirs (all of theirs,
    # said so), and its count is that list's.
    listed = client.get(f"/agent/?category={desk.it.id}")
    assert "That category is not one of yours" in listed.get_data(as_text=True)
    assert counts["IT"] == str(len(subjects(listed))) == "1"


def test_another_agents_view_is_missing(client, login, desk):
    login(desk.tech_sales)
    save(client, "assignee=me", "Sara's")
    [view] = my_views(desk.tech_sales)
    login(desk.admin)
    assert client.get(f"/agent/views/saved/{view.id}").status_code == 404
    assert client.post(f"/agent/views/saved/{view.id}/rename", data={"name": "Mine now"}).status_code == 404
    deleted = client.post(f"/agent/views/saved/{view.id}/delete", data={"confirmed_action": "yes"})
    assert deleted.status_code == 404
    assert "Sara's" not in client.get("/agent/").get_data(as_text=True)
    assert "Sara&#39;s" not in client.get("/agent/views").get_data(as_text=True)
    assert [v.name for v in my_views(desk.tech_sales)] == ["Sara's"]
    login(desk.tech_sales)
    assert client.get(f"/agent/views/saved/{view.id}").location == "/agent/?assignee=me"


def test_bad_names_are_refused_clearly_and_the_typed_name_is_kept(client, login, desk):
    login(desk.tech_it)
    save(client, "sort=due", "By due")
    for name, message in (
        ("   ", "Give the view a name."),
        ("x" * 61, "A view&#39;s name is at most 60 characters (61 given)."),
        ("by DUE", "You already have a view named “by DUE”: choose another name."),
    ):
        response = save(client, "status=waiting&sort=updated", name)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and message in html
        assert f'value="{name}" aria-invalid="true"' in html  # what was typed comes back
        assert 'action="/agent/views/saved?status=waiting&amp;sort=updated"' in html  # and the filters
    assert [v.name for v in my_views(desk.tech_it)] == ["By due"]


def test_an_agent_keeps_at_most_thirty_views(client, login, desk):
    for n in range(saved_views.MAX_PER_AGENT):
        db.session.add(SavedView(owner_id=desk.tech_it.id, name=f"View {n}", query=f"tag=t{n}"))
    db.session.commit()
    login(desk.tech_it)
    html = save(client, "status=all", "One more").get_data(as_text=True)
    assert "You already have 30 saved views, the most one agent may keep" in html
    assert 'value="One more"' in html
    count = select(func.count()).where(SavedView.owner_id == desk.tech_it.id)
    assert db.session.scalar(count) == 30


def test_rename_and_delete_after_confirming(client, login, desk):
    login(desk.tech_it)
    save(client, "sort=due", "By due")
    save(client, "sort=updated", "Latest")
    by_due, latest = sorted(my_views(desk.tech_it), key=lambda v: v.name)
    page = client.get("/agent/views/saved").get_data(as_text=True)
    assert 'Rename<span class="visually-hidden"> By due</span>' in page
    clash = client.post(f"/agent/views/saved/{by_due.id}/rename", data={"name": "latest"})
    html = clash.get_data(as_text=True)
    assert (
        "You already have a view named “latest”" in html
        and 'value="latest" maxlength="60" required aria-invalid="true"' in html
    )
    renamed = client.post(f"/agent/views/saved/{by_due.id}/rename", data={"name": "Due soonest"})
    assert renamed.status_code == 302 and "View renamed to “Due soonest”." in client.get(
        renamed.location
    ).get_data(as_text=True)
    asked = client.post(f"/agent/views/saved/{latest.id}/delete", data={})
    assert asked.status_code == 200 and "Delete the view “Latest”?" in asked.get_data(as_text=True)
    assert len(my_views(desk.tech_it)) == 2  # asking deleted nothing
    done = client.post(f"/agent/views/saved/{latest.id}/delete", data={"confirmed_action": "yes"})
    assert "View “Latest” deleted." in client.get(done.location).get_data(as_text=True)
    assert [v.name for v in my_views(desk.tech_it)] == ["Due soonest"]


def test_a_name_taken_at_the_same_moment_is_a_clear_refusal(desk):
    """Two saves racing past the name check (a double click): the database's unique constraint
    answers, inside a savepoint, with the same message."""
    saved_views.create(desk.tech_it, "Twice", "sort=due")
    with pytest.raises(ValidationFailed, match="You already have a view named “Twice”"):
        saved_views._write(SavedView(owner_id=desk.tech_it.id, query="sort=updated"), "Twice")
    assert [v.name for v in saved_views.views_of(desk.tech_it)] == ["Twice"]  # the session still works


def test_a_view_counted_on_its_own_stops_at_the_cap_and_the_others_stay_exact(
    client, login, desk, make, monkeypatch
):
    from helpdesk.tickets import views_builtin

    monkeypatch.setattr(views_builtin, "COUNT_CAP", 2)
    for n in range(3):
        make.ticket(subject=f"Printer {n}", requester=desk.requester, category=desk.it, priority=desk.ref.priorities["Low"])  # fmt: skip
    db.session.commit()
    login(desk.admin)
    save(client, "q=printer", "Printers")  # a search: counted on its own
    save(client, f"category={desk.it.id}", "IT")  # in the aggregate: exact, whatever the cap
    counts = counts_page(client)
    assert counts["Printers"] == "2+" and counts["IT"] == "4" and counts["Needs attention"] == "5"
