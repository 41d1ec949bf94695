"""The rate and lift helpers the flow analytics and the recovery report share."""

from decimal import Decimal

import pytest

from omnichannel.core.rates import lift, ratio


def test_ratio_is_none_when_there_is_nothing_to_divide_by():
    assert ratio(3, 4) == 0.75
    assert ratio(Decimal("5.00"), 2) == Decimal("2.50")
    assert ratio(0, 0) is None


@pytest.mark.parametrize(
    ("treated", "holdout", "expected"),
    [(0.25, 0.2, pytest.approx(0.25)), (0.1, 0.2, pytest.approx(-0.5)), (0.3, 0, None),
     (None, 0.2, None), (0.3, None, None)],
)  # fmt: skip
def test_lift_over_the_holdout(treated, holdout, expected):
    assert lift(treated, holdout) == expected
