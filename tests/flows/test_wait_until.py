"""Waiting until a time of day in the contact's zone: the maths across zones and DST."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from omnichannel.core.local_time import next_local_time

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
TEN = dt.time(10, 0)


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "after, at, zone, due",
    [
        (utc(2026, 1, 5, 8), TEN, PARIS, utc(2026, 1, 5, 9)),  # later today
        (utc(2026, 1, 5, 9), TEN, PARIS, utc(2026, 1, 5, 9)),  # at it: at once
        (utc(2026, 1, 5, 9, 1), TEN, PARIS, utc(2026, 1, 6, 9)),  # past: tomorrow
        (utc(2026, 1, 5, 9), TEN, NEW_YORK, utc(2026, 1, 5, 15)),  # another zone
        (utc(2026, 7, 5, 9), TEN, PARIS, utc(2026, 7, 6, 8)),  # summer time
        # Spring forward (Paris, 29 March 2026): 02:30 does not exist -> 03:00 CEST.
        (utc(2026, 3, 28, 12), dt.time(2, 30), PARIS, utc(2026, 3, 29, 1)),
        # Fall back (Paris, 25 October 2026): 02:30 happens twice -> the first one (CEST).
        (utc(2026, 10, 24, 12), dt.time(2, 30), PARIS, utc(2026, 10, 25, 0, 30)),
        # New York springs forward on 8 March 2026: 02:15 -> 03:00 EDT.
        (utc(2026, 3, 7, 12), dt.time(2, 15), NEW_YORK, utc(2026, 3, 8, 7)),
    ],
)
def test_next_local_time(after, at, zone, due):
    assert next_local_time(after, at, zone) == due
