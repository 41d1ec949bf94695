"""Instants at a time of day in someone's own time zone ("tomorrow at 10:00 their time").

Summer time is handled by ``zoneinfo``: a time the clocks skip (02:30 on the night they
spring forward) means the first instant after the gap, when the clocks read 03:00; a time
they show twice (02:30 on the night they fall back) means its first occurrence.
"""

import datetime as dt


def next_local_time(after, at, zone):
    """The first instant at or after ``after`` (aware) when the clock in ``zone`` reads
    ``at`` (a ``datetime.time``); in UTC."""
    day = after.astimezone(zone).date()
    candidate = local_instant(day, at, zone)
    if candidate < after:
        candidate = local_instant(day + dt.timedelta(days=1), at, zone)
    return candidate


def local_instant(day, at, zone):
    """``day`` at ``at`` in ``zone``, in UTC: the first occurrence of a time shown twice,
    the end of the gap for a time the clocks skip."""
    wall = dt.datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap: read with the later offset the wall time falls before the jump, with the
    # earlier one after it. The jump lies between, on a whole second: found by bisection.
    offset_after = first.astimezone(zone).utcoffset()
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, dt.UTC)
