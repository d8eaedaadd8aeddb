"""The plan switch and the locked priorities as services: who may switch, what it grants, what it keeps."""

import pytest

from helpdesk.credits import ledger as credits
from helpdesk.credits import switching
from helpdesk.errors import NotAllowed, ValidationFailed
from helpdesk.extensions import db
from tests.credit_helpers import bank, plan


def test_locked_priorities_are_the_desk_s_others_with_price_and_the_plans_offering_them(make, ref):
    bob = make.customer()
    bank("Free", user=bob)
    locked = switching.locked_priorities(bob, category_id=ref.categories["IT"].id)
    assert [(q.priority.name, q.price, q.plans) for q in locked] == [
        ("High", 150, ("Pay as you go",)),
        ("Urgent", 250, ("Pay as you go",)),
    ]
    assert all(q.locked and q.due_at is not None for q in locked)


def test_a_priority_no_self_service_plan_offers_names_no_plan(make, ref):
    plan("Pay as you go").self_service = False
    bob = make.customer()
    bank("Free", user=bob)
    assert [q.plans for q in switching.locked_priorities(bob)] == [(), ()]


def test_a_plan_with_every_priority_locks_none(make, ref):
    alice = make.customer()
    bank("Business", user=alice)
    assert switching.locked_priorities(alice) == []


def test_the_switch_keeps_the_balance_and_grants_the_sign_up_credits_once(make, ref):
    bob = make.customer()
    account = bank("Free", 40, user=bob)
    result = switching.switch_plan(bob, plan("Pay as you go").id)
    assert (result.old_plan.name, result.plan.name, result.granted) == ("Free", "Pay as you go", 100)
    assert account.balance == 140
    assert switching.grant_due(account, plan("Pay as you go")) == 0
    switching.switch_plan(bob, plan("Free").id)
    again = switching.switch_plan(bob, plan("Pay as you go").id)
    assert again.granted == 0 and account.balance == 140
    assert credits.ledger_mismatches() == []


def test_a_bank_opened_on_a_plan_with_a_grant_gets_none_on_switching_back(make, ref):
    erin = make.customer()
    account = credits.open_account(plan("Pay as you go"), user=erin)
    switching.switch_plan(erin, plan("Free").id)
    assert switching.switch_plan(erin, plan("Pay as you go").id).granted == 0
    assert account.balance == 100


@pytest.mark.parametrize(
    "setup, message",
    [
        ("agent", "Plans are chosen by customers."),
        ("business", "Your Business plan was arranged with the help desk"),
        ("member", "only the organization's manager chooses its plan (ask Carol)"),
    ],
)
def test_who_may_not_switch_is_told_why(make, ref, setup, message):
    if setup == "agent":
        user = make.technician()
    elif setup == "business":
        user = make.customer()
        bank("Business", user=user)
    else:
        org = make.OrganizationFactory()
        bank("Free", organization=org)
        make.customer(organization=org, is_org_manager=True, name="Carol")
        user = make.customer(organization=org)
    assert message in switching.switch_refusal(user)
    with pytest.raises(NotAllowed):
        switching.switch_plan(user, plan("Pay as you go").id)


def test_only_self_service_plans_other_than_the_current_one(make, ref):
    bob = make.customer()
    bank("Free", user=bob)
    for target in (plan("Business").id, None, 999_999, plan("Free").id):
        with pytest.raises(ValidationFailed):
            switching.switch_plan(bob, target)
    db.session.expire_all()
    assert credits.account_for(bob).plan.name == "Free"


def test_the_preview_lists_what_a_switch_gains_and_loses(make, ref):
    bob = make.customer()
    bank("Pay as you go", 300, user=bob)
    preview = switching.preview_switch(bob, plan("Free").id)
    assert (preview.balance, preview.grant, preview.credits_idle) == (300, 0, True)
    assert [p.name for p in preview.lost] == ["High", "Urgent"] and preview.gained == ()
    assert switching.preview_switch(bob, plan("Business").id) is None
