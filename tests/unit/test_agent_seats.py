"""Seat counting: active technicians and admins only."""

import pytest

from helpdesk.accounts.seats import SeatUsage, seat_usage, seats_used
from helpdesk.extensions import db
from helpdesk.tickets.models import Subscription


def test_active_technicians_and_admins_count(make, ref):
    make.admin()
    make.technician(ref.categories["IT"])
    make.technician()  # no categories yet: still a seat
    assert seats_used() == 3


def test_deactivated_demoted_subscribers_and_customers_do_not_count(make, ref):
    make.admin()
    gone = make.technician(ref.categories["IT"])
    demoted = make.technician(ref.categories["IT"])
    follower = make.customer()
    make.customer()
    ticket = make.ticket(category=ref.categories["IT"], priority=ref.priorities["Low"])
    db.session.add(Subscription(ticket_id=ticket.id, user_id=follower.id))
    gone.active = False
    demoted.role = "customer"
    db.session.commit()
    assert seats_used() == 1


def test_deactivated_admin_does_not_count(make):
    make.admin(active=False)
    make.admin()
    assert seats_used() == 1


def test_limit_comes_from_configuration(app, make, monkeypatch):
    monkeypatch.setitem(app.config, "AGENT_SEAT_LIMIT", 2)
    make.admin()
    assert seat_usage() == SeatUsage(used=1, limit=2)


@pytest.mark.parametrize(
    ("used", "limit", "over", "near"),
    [
        (3, 5, False, False),
        (4, 5, False, True),
        (5, 5, False, True),
        (6, 5, True, False),
        (0, 0, False, False),
        (1, 0, True, False),
    ],
)
def test_thresholds(used, limit, over, near):
    usage = SeatUsage(used=used, limit=limit)
    assert (usage.over_limit, usage.near_limit) == (over, near)
