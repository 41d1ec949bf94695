"""Instants for tests that need a particular local weekday and hour.

They are derived from the real clock (the next such moment from now), never written as
fixed dates: a test that sweeps "Wednesday 23:00 in Paris" must not depend on whether that
Wednesday is before or after the moment its data is created. Built in the local zone, so
summer time is respected.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
PARIS, TOKYO = ZoneInfo("Europe/Paris"), ZoneInfo("Asia/Tokyo")


def next_local(zone, hour, minute=0, *, weekday=None, after=None):
    """The first moment after ``after`` (default: now) at ``hour:minute`` local time in
    ``zone``, on ``weekday`` (Monday=0) when given; returned in UTC."""
    after = after or timezone.now()
    day = after.astimezone(zone).date()
    while True:
        candidate = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
        if candidate > after and (weekday is None or day.weekday() == weekday):
            return candidate.astimezone(dt.UTC)
        day += dt.timedelta(days=1)
