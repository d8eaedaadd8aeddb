"""A merge confirmed twice at once (a double click, two app servers): one merge, one refund, and
both answers lead to the kept ticket, as a confirmation sent again after the merge does."""

import pytest
from sqlalchemy import select

from helpdesk.credits import submission
from helpdesk.credits.models import LedgerEntry
from helpdesk.extensions import db
from helpdesk.tickets.models import Message
from tests.credit_helpers import balance_of, bank
from tests.races import post_at_once, posts_at_once

# committing: each request runs in its own thread and connection and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]


def test_a_merge_confirmed_twice_at_once_merges_and_refunds_once_and_both_lead_to_the_kept_ticket(
    app, login, desk, make
):
    account = bank("Business", 1000, user=desk.requester)
    duplicate, _ = submission.submit_ticket(
        desk.requester, subject="Urgent twin", body="Same as before.", category_id=desk.it.id,
        priority_id=desk.ref.priorities["Urgent"].id, submission_key="twin",
    )  # fmt: skip
    make.message(duplicate, desk.requester, "Still down.")
    db.session.commit()
    duplicate_id, kept_id = duplicate.id, desk.it_ticket.id
    data = {"merge-into": str(kept_id), "confirmed_action": "yes"}

    answers = post_at_once(app, login, desk.tech_it, f"/agent/tickets/{duplicate_id}/merge", data)
    assert [a.status_code for a in answers] == [303, 303]
    assert {a.headers["Location"] for a in answers} == {f"/agent/tickets/{kept_id}"}
    assert balance_of(account) == 1000
    refunds = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.idempotency_key == f"merge:{duplicate_id}")
    )
    assert len(refunds.all()) == 1
    bodies = db.session.scalars(select(Message.body).where(Message.ticket_id == kept_id)).all()
    assert bodies.count("Still down.") == 1 and sum("(from #" in b for b in bodies) == 1


def test_a_reply_on_the_kept_ticket_while_a_duplicate_is_merged_into_it_is_saved(app, login, desk, make):
    """The reply and the merge both write messages of the kept ticket, each numbered under its
    ticket's lock: taken in different orders (a reply's message first, a merge's ticket row first)
    the two waited on each other, and the reply answered 'Someone else changed this ticket'."""
    merger, replier = app.test_client(), app.test_client()
    login(desk.tech_it, as_client=merger)
    login(desk.admin, as_client=replier)
    kept_id = desk.it_ticket.id
    for attempt in range(6):
        duplicate = make.ticket(
            subject=f"VPN again {attempt}", requester=desk.requester, category=desk.it,
            priority=desk.ref.priorities["Normal"],
        )  # fmt: skip
        for n in range(3):
            make.message(duplicate, desk.requester, f"Still down {n}.")
        db.session.commit()
        merged, replied = posts_at_once(
            (
                merger,
                f"/agent/tickets/{duplicate.id}/merge",
                {"merge-into": str(kept_id), "confirmed_action": "yes"},
            ),
            (
                replier,
                f"/agent/tickets/{kept_id}/reply",
                {"reply-body": f"Reply {attempt}", "reply-action": "reply"},
            ),
        )
        assert merged.status_code == 303
        assert replied.status_code == 302, "the reply was refused"
        kept = db.session.scalars(select(Message.body).where(Message.ticket_id == kept_id)).all()
        assert f"Reply {attempt}" in kept and "Still down 2." in kept
