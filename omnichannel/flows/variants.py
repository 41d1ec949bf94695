"""A/B assignment and holdout: random, weighted, and sticky per enrollment."""

import random

_random = random.SystemRandom()


def in_holdout(flow):
    return flow.holdout_percent > 0 and _random.uniform(0, 100) < flow.holdout_percent


def assign(enrollment, step, variants):
    """The variant of ``step`` for ``enrollment`` (None without variants); sticky.

    A retired variant (an A/B test's loser) is no longer drawn, but an enrollment that
    already has it keeps it: its messages and figures stay those of the arm it was in.
    """
    if not variants:
        return None
    chosen = enrollment.variants.get(str(step.pk))
    by_id = {variant.pk: variant for variant in variants}
    if chosen in by_id:
        return by_id[chosen]
    # Staff may retire every variant by hand: the step still needs one to send.
    drawn = [variant for variant in variants if not variant.retired] or variants
    variant = _random.choices(drawn, weights=[v.weight for v in drawn])[0]
    enrollment.variants = {**enrollment.variants, str(step.pk): variant.pk}
    return variant
