"""Is one conversion rate really better than another? The two-proportion z-test.

Pure arithmetic (no scipy): the normal distribution's tail comes from ``math.erfc``.
``confidence`` is 1 minus the two-sided p-value, so 0.95 reads as "a difference this
large would turn up by chance in 5 % of tests where the arms are really equal".
"""

import math
from dataclasses import dataclass


def z_score(conversions_a, sample_a, conversions_b, sample_b):
    """How many standard errors arm A's rate lies above arm B's (negative: below), with
    the pooled rate under "no difference"; 0 when either sample is empty or the pooled
    rate leaves no variance (no conversions at all, or nothing but conversions)."""
    for conversions, sample in ((conversions_a, sample_a), (conversions_b, sample_b)):
        if not 0 <= conversions <= sample:
            raise ValueError(f"{conversions} conversions out of a sample of {sample}")
    if not (sample_a and sample_b):
        return 0.0
    pooled = (conversions_a + conversions_b) / (sample_a + sample_b)
    variance = pooled * (1 - pooled) * (1 / sample_a + 1 / sample_b)
    if variance <= 0:
        return 0.0
    return (conversions_a / sample_a - conversions_b / sample_b) / math.sqrt(variance)


def p_value(z):
    """The two-sided p-value of ``z`` under the standard normal distribution."""
    return math.erfc(abs(z) / math.sqrt(2))


def confidence(conversions_a, sample_a, conversions_b, sample_b):
    """1 - the two-sided p-value of the two arms' difference (0 to 1)."""
    return 1 - p_value(z_score(conversions_a, sample_a, conversions_b, sample_b))


@dataclass(frozen=True)
class Verdict:
    """The arms ranked best rate first, the confidence that the first beats the second,
    what each arm still needs to reach the minimum sample, and the winner (the index of
    the leading arm) or None while the test is undecided."""

    order: tuple  # indexes into the arms given, best rate first
    confidence: float
    missing: tuple  # per arm given: samples still needed (0 once reached)
    winner: int | None


def decide(arms, min_sample, required_confidence):
    """The ``Verdict`` on ``arms``, a list of at least two ``(conversions, sample)``.

    A winner needs every arm at ``min_sample`` or more (an early lead on a small sample
    is mostly noise, and stopping at the first lucky peek inflates false winners) and
    the leader ahead of the runner-up with at least ``required_confidence``.
    """
    if len(arms) < 2:
        raise ValueError("a test needs at least two arms")

    def rate(index):
        conversions, sample = arms[index]
        return conversions / sample if sample else 0.0

    # Equal rates keep the arms' given order, so the verdict does not flicker.
    order = tuple(sorted(range(len(arms)), key=lambda index: -rate(index)))
    leader, runner_up = arms[order[0]], arms[order[1]]
    sure = confidence(*leader, *runner_up) if rate(order[0]) > rate(order[1]) else 0.0
    missing = tuple(max(0, min_sample - sample) for _conversions, sample in arms)
    decided = not any(missing) and sure >= required_confidence
    return Verdict(
        order=order, confidence=sure, missing=missing, winner=order[0] if decided else None
    )
