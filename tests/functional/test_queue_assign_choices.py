"""Bulk "Assign to" offers only agents allowed in the page's categories and refuses, changing
nothing, an agent not allowed in every selected ticket's category."""

import re

from .agent_support import HTMX, fresh


def assign_options(html):
    """{agent name: data-categories} of the bulk "Assign to" list."""
    select = html.split('id="bulk-assignee"')[1].split("</select>")[0]
    return {
        name: cats
        for cats, name in re.findall(
            r'<option value="\d+" data-categories="([^"]*)">([^<]+)</option>', select
        )
    }


def test_the_list_covers_the_pages_tickets_with_each_agents_categories(client, login, desk):
    login(desk.admin)
    options = assign_options(client.get("/agent/").get_data(as_text=True))
    assert options == {"Ada Admin": "*", "Ivan IT": str(desk.it.id), "Sara Sales": str(desk.sales.id)}
    login(desk.tech_it)  # sees only the IT ticket: Sara may take nothing on this page
    options = assign_options(client.get("/agent/").get_data(as_text=True))
    assert options == {"Ada Admin": "*", "Ivan IT": str(desk.it.id)}


def test_an_agent_not_allowed_in_one_selected_category_changes_nothing(client, login, desk):
    login(desk.admin)
    selected = [f"{desk.it_ticket.id}.1", f"{desk.sales_ticket.id}.1"]
    data = {"selected": selected, "action": "assign", "assignee": desk.tech_sales.id}
    response = client.post("/agent/bulk", data=data)  # without JavaScript
    html = client.get(response.location).get_data(as_text=True)
    assert (
        f"Sara Sales cannot work tickets in IT (#{desk.it_ticket.id}). No ticket was changed: "
        "choose someone allowed in every selected ticket&#39;s category, or leave those tickets out."
    ) in html
    assert fresh(desk.it_ticket.id).assignee_id is None and fresh(desk.sales_ticket.id).assignee_id is None
    answered = client.post("/agent/bulk", data=data, headers=HTMX).get_data(as_text=True)
    assert f"Sara Sales cannot work tickets in IT (#{desk.it_ticket.id})" in answered
    data["selected"] = [f"{desk.sales_ticket.id}.1"]
    client.post("/agent/bulk", data=data)
    assert fresh(desk.sales_ticket.id).assignee_id == desk.tech_sales.id
