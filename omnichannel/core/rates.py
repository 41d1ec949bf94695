"""Rates and lift, as the analytics pages show them."""


def ratio(part, whole):
    """``part / whole``, or None when there is nothing to divide by."""
    return part / whole if whole else None


def lift(treated_rate, holdout_rate):
    """Relative lift of ``treated_rate`` over ``holdout_rate`` (0.25 = 25 % more), or None
    when either is unknown or the holdout's is zero."""
    if treated_rate is None or not holdout_rate:
        return None
    return treated_rate / holdout_rate - 1
