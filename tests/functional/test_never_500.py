"""No id a user can type answers 500: every route with an id answers 404 beyond the range of the
database's INTEGER columns (PostgreSQL: 2147483648 is out of range; SQLite: 20 digits overflow)."""

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket

HUGE = ("2147483648", "99999999999999999999")


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            yield rule


def _path(rule, huge):
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = huge
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0] if hasattr(converter, "items") else "x"
        else:
            values[name] = "x"
    path = rule.rule
    for name, value in values.items():
        start = path.index("<")
        while path[start:].split(">", 1)[0].split(":")[-1].lstrip("<") != name:  # <name> or <conv:name>
            start = path.index("<", start + 1)
        end = path.index(">", start)
        path = path[:start] + value + path[end + 1 :]
    return path


def test_every_id_route_answers_404_beyond_the_column_range(app, client, login, make, ref):
    login(make.admin())
    rules = list(_id_routes(app))
    assert len(rules) > 40  # the walk reaches the routes it means to
    failures = []
    for rule in rules:
        for huge in HUGE:
            path = _path(rule, huge)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method, data={})
                if response.status_code != 404:
                    failures.append((method, path, response.status_code))
                response.close()
    assert failures == []


@pytest.mark.parametrize("huge", HUGE)
def test_ids_beyond_the_range_in_forms_and_query_strings_are_refused_politely(client, login, make, ref, huge):
    agent = make.technician(ref.categories["IT"])
    ticket = make.ticket(category=ref.categories["IT"])
    login(agent)
    edit = client.post(
        f"/agent/tickets/{ticket.id}/priority",
        data={"priority-value": huge, "priority-version": ticket.version},
    )
    assert edit.status_code in (200, 409)  # a form error, the ticket unchanged
    assignee = client.post(
        f"/agent/tickets/{ticket.id}/assignee",
        data={"assignee-value": huge, "assignee-version": huge},
    )
    assert assignee.status_code in (200, 409)
    queue = client.get(f"/agent/?category={huge}&assignee={huge}&priority={huge}&page={huge}")
    assert queue.status_code == 200
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee_id is None


def test_control_characters_in_fields_are_dropped_not_stored(client, login, make, ref):
    """PostgreSQL refuses NUL in text (it answered 500); no field means anything by one."""
    customer = make.customer()
    login(customer)
    response = client.post(
        "/portal/tickets/new",
        data={
            "category": ref.categories["IT"].id,
            "priority": ref.priorities["Normal"].id,
            "subject": "Printer\x00 on fire\x07",
            "body": "Line one\r\n\tLine two\x00",
            "submission_key": "nul-key",
        },
    )
    assert response.status_code == 302
    ticket = db.session.scalar(db.select(Ticket))
    assert ticket.subject == "Printer on fire"
    assert ticket.body == "Line one\r\n\tLine two" or ticket.body == "Line one\n\tLine two"
    assert client.get("/portal/tickets?q=%00printer").status_code == 200


@pytest.mark.parametrize("path", ["/kb/it/%00", "/kb/%00/article", "/kb/it/a%01b/feedback"])
def test_control_characters_in_a_path_segment_match_no_route(client, ref, path):
    """PostgreSQL refuses NUL in text: a slug holding one used to reach the query (500). A segment
    with a control character matches no route: 404 for every method."""
    assert client.get(path).status_code == 404
    assert client.post(path).status_code in (404, 400)  # 400: the CSRF check may come first
