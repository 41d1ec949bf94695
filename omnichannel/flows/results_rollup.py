"""The daily rollup behind the marketing home's message figures (``models.MessageDay``).

A 90-day page would otherwise count half a million messages and their events on every
load. Rebuilding a range of days runs the page's own two message queries
(``results.message_counts`` and ``results.event_counts``, bucketed by day) once and stores
their rows, so the page reads a few hundred rows instead, and its figures are the live
ones as of the rebuild.

Opens, clicks, bounces and deliveries keep arriving for days after a send, so the periodic
task rebuilds the last ``ROLLUP_DAYS`` days every hour: a past day's figures lag the live
ones by at most an hour, and an event later than ``ROLLUP_DAYS`` after its send (rare)
shows once the day is rebuilt by ``manage.py omnichannel_summarize``.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models.functions import TruncDay
from django.utils import timezone

from ..models import MessageDay, SummarizedDay
from .results import (
    day_bounds,
    event_counts,
    events_of_sent_in,
    local_day,
    message_counts,
    sent_in,
)

ROLLUP_DAYS = 30


def rebuild_message_days(first, last):
    """Count again the messages sent from ``first`` to ``last`` (days, both included, in
    the current time zone) and replace those days' rollup rows; returns how many rows."""
    zone = timezone.get_current_timezone()
    # Taken before counting: a day is only ever read from the rollup when this moment is
    # after its end, so no message of that day can have been sent after the count.
    built_at = timezone.now()
    periods = [day_bounds(first, last, zone)]
    rows = {}
    for values in message_counts(sent_in(periods), TruncDay("sent_at", tzinfo=zone)):
        day = local_day(values.pop("bucket"), zone)
        row = MessageDay(day=day, **values)
        rows[day, row.channel, row.cost_currency] = row
    for values in event_counts(
        events_of_sent_in(periods), TruncDay("message__sent_at", tzinfo=zone)
    ):
        day = local_day(values.pop("bucket"), zone)
        row = rows[day, values.pop("channel"), values.pop("cost_currency")]
        for name, value in values.items():
            setattr(row, name, value)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    with transaction.atomic():
        MessageDay.objects.filter(day__range=(first, last)).delete()
        MessageDay.objects.bulk_create(rows.values())
        SummarizedDay.objects.filter(day__range=(first, last)).delete()
        SummarizedDay.objects.bulk_create(
            SummarizedDay(day=day, time_zone=str(zone), built_at=built_at) for day in days
        )
    return len(rows)


def rebuild_recent_message_days(days=ROLLUP_DAYS):
    """Rebuild the ``days`` days before today (today is still counted live); returns how
    many rows."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return rebuild_message_days(yesterday - timedelta(days=days - 1), yesterday)
