"""The submit form's detours clicked twice, the requests running at once on two app servers
(PostgreSQL: SQLite serialises writers, so these races do not happen there): "Buy credits" keeps
one draft and both clicks lead on, and "Ask a manager for credits" reaches the managers once."""

import pytest
from sqlalchemy import func, select

from helpdesk.credits.models import CreditRequest
from helpdesk.extensions import db
from helpdesk.mail.models import OutboxMessage
from helpdesk.notices.models import Notice
from helpdesk.tickets.models import TicketDraft
from tests.credit_helpers import bank
from tests.races import post_at_once

# committing: each request runs in its own thread and connection and must see the set-up.
pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]


def the_form(ref):
    return {
        "category": ref.categories["IT"].id,
        "priority": ref.priorities["Normal"].id,
        "subject": "Printer on fire",
        "body": "Smoke everywhere.",
        "submission_key": "form-1",
    }


def test_buy_credits_clicked_twice_at_once_keeps_one_draft_and_both_go_to_billing(app, login, make, ref):
    sam = make.customer(name="Sam Short")
    bank("Pay as you go", 100, user=sam)
    url = f"/portal/tickets/new/draft?then=buy&wanted={ref.priorities['Urgent'].id}"
    answers = post_at_once(app, login, sam, url, the_form(ref), copies=3)
    # Before, the copies that lost the race answered 500 (the draft's unique key refused them).
    assert [a.status_code if a else 500 for a in answers] == [302, 302, 302]
    assert {a.location for a in answers} == {"/billing/"}
    (draft,) = db.session.scalars(select(TicketDraft)).all()
    assert (draft.subject, draft.body) == ("Printer on fire", "Smoke everywhere.")


def test_ask_a_manager_clicked_twice_at_once_reaches_the_managers_once(app, login, make, ref):
    org = make.OrganizationFactory(name="Acme")
    bank("Pay as you go", 100, organization=org)
    carol = make.customer(organization=org, is_org_manager=True, name="Carol Carter")
    dave = make.customer(organization=org, name="Dave Dunn")
    answers = post_at_once(
        app, login, dave, "/portal/credit-requests", {"amount": 150, "subject": "Printer"}, copies=3
    )
    assert [a.status_code if a else 500 for a in answers] == [302, 302, 302]
    # Before, each copy found no request yet and sent its own: three notices, three mails to Carol.
    assert db.session.scalar(select(func.count(CreditRequest.id))) == 1
    assert db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == carol.id)) == 1
    assert (
        db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == "credit_request"))
        == 1
    )
