"""Heartbeats racing on PostgreSQL: agents beating on the same tickets at the same moment, while
each heartbeat also deletes the expired rows, all succeed and leave one row per ticket and agent."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.accounts.models import User
from helpdesk.dbtypes import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import presence, reply_drafts
from helpdesk.tickets.models import ReplyDraft, Ticket, TicketPresence
from tests.races import run_at_once

# committing: the threads work through their own connections and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]
AGENTS, ROUNDS = 4, 15


def test_concurrent_heartbeats_and_draft_saves_all_succeed(app, make, ref):
    it = ref.categories["IT"]
    agents = [make.technician(it) for _ in range(AGENTS)]
    customer = make.customer()
    tickets = [make.ticket(requester=customer, category=it) for _ in range(3)]
    stale = utcnow() - timedelta(minutes=5)  # expired rows for the heartbeats to delete meanwhile
    for agent in agents:
        db.session.add(
            TicketPresence(ticket_id=tickets[0].id, user_id=agent.id, seen_at=stale, expires_at=stale)
        )
    db.session.commit()
    agent_ids, ticket_ids = [a.id for a in agents], [t.id for t in tickets]
    barrier = threading.Barrier(AGENTS)
    errors = []

    def run(agent_id):
        with app.app_context():
            try:
                agent = db.session.get(User, agent_id)
                barrier.wait()
                for n in range(ROUNDS):
                    ticket = db.session.get(Ticket, ticket_ids[n % len(ticket_ids)])
                    if n % 2:
                        presence.heartbeat(agent, ticket)
                    else:
                        reply_drafts.save_while_writing(agent, ticket, f"draft {n}")
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported through the assertion below
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    run_at_once(run, agent_ids)
    assert errors == []
    db.session.expire_all()
    rows = db.session.execute(select(TicketPresence.ticket_id, TicketPresence.user_id)).all()
    assert sorted(rows) == sorted((t, a) for t in ticket_ids for a in agent_ids)
    assert all(p.expires_at > utcnow() for p in db.session.scalars(select(TicketPresence)))
    assert db.session.scalar(select(func.count()).select_from(ReplyDraft)) == AGENTS * len(ticket_ids)
