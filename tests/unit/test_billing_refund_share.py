"""The refunded share of credits: integer arithmetic, cumulative, never more than was bought."""

from hypothesis import given
from hypothesis import strategies as st

from helpdesk.billing.charges import reversal_due
from helpdesk.billing.models import Payment


@given(
    credits=st.integers(min_value=1, max_value=10**6),
    amount=st.integers(min_value=1, max_value=10**7),
    refunds=st.lists(st.integers(min_value=0, max_value=10**7), max_size=6),
)
def test_cumulative_refunds_reverse_the_share_of_the_total_refunded(credits, amount, refunds):
    payment = Payment(credits=credits, amount=amount)
    reversed_so_far, refunded_so_far = 0, 0
    for step in refunds:
        refunded_so_far += step
        target, capped = reversal_due(payment, refunded_so_far)
        assert capped == min(refunded_so_far, amount)
        assert target == credits * capped // amount
        assert reversed_so_far <= target <= credits
        reversed_so_far = target
    if refunded_so_far >= amount:
        assert reversed_so_far == credits
