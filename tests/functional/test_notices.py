"""In-app notices: listed for their own user only, counted in the navigation, marked read."""

from helpdesk.extensions import db
from helpdesk.notices import service


def test_an_agent_sees_their_notices_counts_them_and_marks_them_read(client, login, make, ref):
    it = ref.categories["IT"]
    agent, other = make.technician(it), make.technician(it)
    ticket = make.ticket(category=it, priority=ref.priorities["Urgent"], subject="Printer on fire")
    service.notify([agent], "at_risk", "Paid ticket is at risk", ticket)
    service.notify([other], "at_risk", "Someone else's notice", ticket)
    db.session.commit()
    login(agent)
    page = client.get("/notices/").get_data(as_text=True)
    assert "Paid ticket is at risk" in page and "Someone else" not in page
    assert f'href="/agent/tickets/{ticket.id}"' in page
    assert "Notifications (1)" in client.get("/agent/").get_data(as_text=True)
    assert client.post("/notices/read").status_code == 302
    assert "Notifications (1)" not in client.get("/agent/").get_data(as_text=True)
    assert service.unread_count(other) == 1


def test_notices_go_only_to_agents_who_may_see_the_ticket(make, ref):
    sales_tech = make.technician(ref.categories["Sales"])
    ticket = make.ticket(category=ref.categories["IT"], priority=ref.priorities["Urgent"])
    assert service.notify([sales_tech], "at_risk", "Not yours", ticket) == []


def test_the_empty_list_says_what_will_appear(client, login, make, ref):
    login(make.technician(ref.categories["IT"]))
    assert "No notifications" in client.get("/notices/").get_data(as_text=True)
