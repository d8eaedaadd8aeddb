"""Agent services without HTTP: optimistic concurrency under real row locks, tags, queue cursors."""

import threading
import time
from datetime import UTC, datetime

import pytest

from helpdesk.accounts.models import User
from helpdesk.credits import quotes as credit_quotes
from helpdesk.errors import StaleUpdate, ValidationFailed
from helpdesk.extensions import db
from helpdesk.tickets import editing as agent_tickets
from helpdesk.tickets import queue
from helpdesk.tickets.models import Ticket


@pytest.mark.postgres_only
@pytest.mark.committing  # the second agent is a thread with its own connection, waiting on a row lock
def test_concurrent_edits_from_the_same_version_save_only_one(app, make, ref):
    """Two agents both saw version 1; the second waits for the first's row lock, then is refused."""
    admin = make.admin()
    other = make.admin()
    ticket = make.ticket(category=ref.categories["IT"], priority=ref.priorities["Low"])
    db.session.commit()
    ids = (ticket.id, other.id)
    outcome = []

    def second_agent():
        with app.app_context():
            try:
                mine = db.session.get(Ticket, ids[0])
                agent_tickets.change_status(mine, db.session.get(User, ids[1]), "closed", 1)
                db.session.commit()
                outcome.append("saved")
            except StaleUpdate:
                db.session.rollback()
                outcome.append("stale")
            finally:
                db.session.remove()

    assert agent_tickets.change_status(ticket, admin, "open", 1)  # flushed: the row is locked
    racer = threading.Thread(target=second_agent)
    racer.start()
    time.sleep(0.3)  # let the second agent reach the lock (ordering only; nothing is timed)
    db.session.commit()
    racer.join(10)
    assert outcome == ["stale"]
    db.session.expire_all()
    assert (db.session.get(Ticket, ids[0]).status, db.session.get(Ticket, ids[0]).version) == ("open", 2)


def test_stale_version_is_refused_before_anything_changes(make, ref):
    admin = make.admin()
    ticket = make.ticket(category=ref.categories["IT"], priority=ref.priorities["Low"])
    with pytest.raises(StaleUpdate, match="Priority is now “Low”"):
        credit_quotes.change_priority_seen(ticket, admin, ref.priorities["High"].id, 7)
    assert ticket.priority.name == "Low" and ticket.version == 1


@pytest.mark.parametrize(
    ("raw", "tags"),
    [("", []), (" A , b,a,, ", ["a", "b"]), ("two  words", ["two words"])],
)
def test_parse_tags(raw, tags):
    assert agent_tickets.parse_tags(raw) == tags


def test_parse_tags_limits():
    with pytest.raises(ValidationFailed):
        agent_tickets.parse_tags(",".join(f"t{n}" for n in range(21)))
    with pytest.raises(ValidationFailed):
        agent_tickets.parse_tags("x" * 51)


def test_cursor_round_trip_is_exact():
    moment = datetime(2026, 11, 21, 10, 0, 0, 123457, tzinfo=UTC)
    ticket = Ticket(id=42, due_at=moment, updated_at=moment, priority_id=3)
    for sort in (s for s in queue.SORTS if s not in queue.REVERSED):  # reversed sorts page with these cursors
        for rank in (0, 1, 3):  # "Needs attention" rows carry their group
            ticket.rank = rank
            numbers = queue.decode_cursor(sort, queue.encode_cursor(sort, ticket))
            assert queue._moment(numbers[-2]) == moment and numbers[-1] == 42


@pytest.mark.parametrize(
    "bad", ["", "d.1", "x.1.2", "d.-1.2", "d.1.2.3", "d.99999999999999999999.1", "p.1.2"]
)
def test_malformed_cursors_mean_first_page(bad):
    assert queue.decode_cursor("due", bad) is None
