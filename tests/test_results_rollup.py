"""The marketing home's daily message rollup: the same figures as counting live, on the
same data (late events included, once rebuilt), the days it may not be trusted counted
live, the task, the command, and a bounded query count for a long page."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnichannel.flows.results import marketing_results, summarized_days
from omnichannel.flows.results_rollup import rebuild_message_days
from omnichannel.models import DeliveryEvent, Message, MessageDay, SummarizedDay
from omnichannel.schedule import periodic_tasks
from omnichannel.tasks import summarize_messages

from .test_marketing_home import END, START, at, joined, message, story  # noqa: F401

pytestmark = pytest.mark.django_db
MARCH = (date(2025, 3, 1), date(2025, 3, 31))
PARIS = ZoneInfo("Europe/Paris")


def live(start, end, granularity="day"):
    """The figures counted without the rollup (dropped, then put back)."""
    with transaction.atomic():
        MessageDay.objects.all().delete()
        SummarizedDay.objects.all().delete()
        results = marketing_results(start, end, granularity)
        transaction.set_rollback(True)
    return results


def same_either_way(start, end):
    for granularity in ("day", "week"):
        assert marketing_results(start, end, granularity) == live(start, end, granularity)


@pytest.mark.usefixtures("story")
def test_the_rollup_gives_the_live_figures():
    # A second cost currency, so rows per currency are summed back per channel and bucket.
    message(joined(at(11)), "sms", at(11), delivered=True, cost=Decimal("0.0500"))
    Message.objects.filter(cost=Decimal("0.0500")).update(cost_currency="EUR")
    expected = live(START, END)
    # Per day, channel and cost currency with sends: email on the 9th, 10th and 12th, sms
    # in dollars on the 12th and in euros on the 11th, WhatsApp on the 16th.
    assert rebuild_message_days(*MARCH) == 6
    assert summarized_days(START, END, timezone.get_current_timezone()) == {
        START + timedelta(days=offset) for offset in range(7)
    }
    assert marketing_results(START, END) == expected
    assert expected.messages.sent == 6 and expected.messages.opened_by_people == 2
    assert expected.messages.cost == {"USD": Decimal("0.05"), "EUR": Decimal("0.05")}
    same_either_way(START, END)
    same_either_way(date(2025, 3, 5), date(2025, 3, 12))  # weeks cut at both ends

    # The page really reads the rollup for those days (not the messages).
    MessageDay.objects.update(sent=F("sent") + 1000)
    assert marketing_results(START, END).messages.sent == 6 + 5 * 1000  # 5 rows that week


@pytest.mark.usefixtures("story")
def test_a_late_click_shows_after_the_next_rebuild():
    rebuild_message_days(*MARCH)
    before = marketing_results(START, END)
    bounced = DeliveryEvent.objects.get(kind="bounced").message
    DeliveryEvent.objects.create(message=bounced, kind="clicked", occurred_at=at(25))

    # Until the next rebuild the rollup holds the figures as of the last one.
    assert marketing_results(START, END) == before
    assert live(START, END).messages.clicked == before.messages.clicked + 1

    rebuild_message_days(*MARCH)
    assert marketing_results(START, END).messages.clicked == before.messages.clicked + 1
    same_either_way(START, END)


@pytest.mark.usefixtures("story")
def test_a_day_rebuilt_before_it_ended_is_counted_live():
    with mock.patch("django.utils.timezone.now", return_value=at(16, 18)):
        rebuild_message_days(*MARCH)
    message(joined(at(16, 20)), "email", at(16, 20), "clicked", delivered=True)
    zone = timezone.get_current_timezone()
    assert date(2025, 3, 16) not in summarized_days(START, END, zone)
    assert date(2025, 3, 15) in summarized_days(START, END, zone)
    assert marketing_results(START, END).messages.sent == 6
    same_either_way(START, END)


@pytest.mark.usefixtures("story")
def test_days_missing_from_the_rollup_are_counted_live():
    rebuild_message_days(date(2025, 3, 11), date(2025, 3, 12))
    rebuild_message_days(date(2025, 3, 15), date(2025, 3, 15))
    same_either_way(START, END)  # 10th, 13th-14th and 16th live, in three periods


@pytest.mark.usefixtures("story")
def test_a_rollup_in_another_time_zone_is_not_used():
    with timezone.override(PARIS):
        rebuild_message_days(*MARCH)
        same_either_way(START, END)
    # Built in Paris days: in UTC the page counts live rather than mix two calendars.
    assert summarized_days(START, END, timezone.get_current_timezone()) == set()
    MessageDay.objects.update(sent=F("sent") + 1000)
    assert marketing_results(START, END).messages.sent == 5


def test_days_follow_the_shop_s_time_zone():
    # 23:30 UTC on the 10th is the 11th in Paris.
    message(joined(at(10)), "email", datetime(2025, 3, 10, 23, 30, tzinfo=UTC), "opened")
    with timezone.override(PARIS):
        rebuild_message_days(*MARCH)
        assert MessageDay.objects.get().day == date(2025, 3, 11)
        assert marketing_results(START, END).buckets[1].messages.opened == 1
        same_either_way(START, END)


@pytest.mark.usefixtures("story")
def test_a_long_page_costs_a_bounded_number_of_queries():
    def queries(start, end, granularity):
        with CaptureQueriesContext(connection) as captured:
            marketing_results(start, end, granularity)
        return len(captured)

    start = END - timedelta(days=89)
    rebuild_message_days(start, END - timedelta(days=1))  # the 16th: "today", live
    assert queries(start, END, "week") == queries(START, END, "day") == 10
    rebuild_message_days(start, END)  # all of it in the rollup: no live message query
    assert queries(start, END, "week") == 8


def test_the_hourly_task_rebuilds_the_last_30_days_before_today():
    message(joined(at(10)), "email", at(15), delivered=True)
    message(joined(at(10)), "email", at(17), delivered=True)  # "today": not summarized
    with mock.patch("django.utils.timezone.now", return_value=at(17, 10)):
        summarize_messages()
    days = set(SummarizedDay.objects.values_list("day", flat=True))
    assert days == {date(2025, 3, 16) - timedelta(days=offset) for offset in range(30)}
    assert MessageDay.objects.get().day == date(2025, 3, 15)
    assert periodic_tasks()["omnichannel: summarize messages"] == (
        "omnichannel.summarize_messages",
        3600,
    )


@pytest.mark.usefixtures("story")
def test_the_command_backfills_a_range_a_month_at_a_time():
    call_command("omnichannel_summarize", "--start", "2025-01-01", "--end", "2025-03-31")
    days = SummarizedDay.objects.values_list("day", flat=True)
    assert (min(days), max(days), len(days)) == (date(2025, 1, 1), date(2025, 3, 31), 90)
    same_either_way(START, END)


def test_the_command_refuses_a_start_after_the_end():
    with pytest.raises(CommandError, match="after"):
        call_command("omnichannel_summarize", "--start", "2025-03-02", "--end", "2025-03-01")
