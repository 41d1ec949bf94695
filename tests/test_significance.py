"""The two-proportion z-test and the verdict, against figures worked out by hand."""

import math

import pytest

from omnichannel.core.significance import confidence, decide, p_value, z_score


def test_z_and_p_of_a_known_pair():
    # 25 % of 1000 against 20 % of 1000: pooled 22.5 %, standard error 0.018675.
    z = z_score(250, 1000, 200, 1000)
    assert z == pytest.approx(2.6774, abs=1e-4)
    assert p_value(z) == pytest.approx(0.0074, abs=1e-4)
    assert confidence(250, 1000, 200, 1000) == pytest.approx(0.9926, abs=1e-4)


def test_the_sign_follows_which_arm_is_ahead_and_p_does_not():
    assert z_score(200, 1000, 250, 1000) == pytest.approx(-z_score(250, 1000, 200, 1000))
    assert p_value(-1.96) == pytest.approx(p_value(1.96))
    assert p_value(1.96) == pytest.approx(0.05, abs=1e-3)


@pytest.mark.parametrize(
    "arms",
    [(0, 100, 0, 100), (100, 100, 50, 50), (0, 0, 3, 10), (0, 0, 0, 0)],
    ids=["no conversions", "all converted", "an empty arm", "nothing at all"],
)
def test_no_variance_means_no_evidence(arms):
    assert z_score(*arms) == 0
    assert confidence(*arms) == 0


def test_more_conversions_than_samples_is_refused():
    with pytest.raises(ValueError, match="11 conversions out of a sample of 10"):
        z_score(11, 10, 1, 10)


def test_a_winner_needs_every_arm_at_the_minimum_sample():
    verdict = decide([(200, 1000), (250, 1000), (30, 150)], 200, 0.95)
    assert verdict.order == (1, 0, 2)
    assert verdict.missing == (0, 0, 50)
    assert verdict.winner is None
    assert verdict.confidence == pytest.approx(0.9926, abs=1e-4)  # the leader vs the second


def test_a_winner_needs_the_confidence():
    arms = [(200, 1000), (250, 1000)]
    assert decide(arms, 200, 0.99).winner == 1
    assert decide(arms, 200, 0.995).winner is None


def test_equal_rates_keep_their_order_and_name_no_winner():
    verdict = decide([(50, 500), (50, 500)], 100, 0.5)
    assert verdict.order == (0, 1) and verdict.confidence == 0 and verdict.winner is None


def test_one_arm_is_no_test():
    with pytest.raises(ValueError):
        decide([(1, 10)], 1, 0.9)


def test_a_huge_difference_is_near_certain_but_finite():
    assert 0.9999 < confidence(900, 1000, 100, 1000) <= 1
    assert math.isfinite(z_score(900, 1000, 100, 1000))
