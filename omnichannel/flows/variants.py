"""A/B assignment and holdout: random, weighted, and sticky per enrollment."""

import random

_random = random.SystemRandom()


def in_holdout(flow):
    return flow.holdout_percent > 0 and _random.uniform(0, 100) < flow.holdout_percent


def assign(enrollment, step, variants):
    """The variant of ``step`` for ``enrollment`` (None without variants); sticky."""
    if not variants:
        return None
    chosen = enrollment.variants.get(str(step.pk))
    by_id = {variant.pk: variant for variant in variants}
    if chosen in by_id:
        return by_id[chosen]
    variant = _random.choices(variants, weights=[v.weight for v in variants])[0]
    enrollment.variants = {**enrollment.variants, str(step.pk): variant.pk}
    return variant
