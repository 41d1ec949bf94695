"""Delays in words: what staff may type, what they read back, in each shipped language."""

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from omnichannel.core.durations import (
    DelayError,
    describe_delay,
    describe_wait,
    parse_delay,
    parse_wait,
)
from omnichannel.models import Step

from .conftest import make_flow
from .test_admin import flow_data, step_data, step_url

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


@pytest.mark.parametrize(
    "text, delay",
    [
        ("30 minutes", 30 * MINUTE),
        ("2 minutes", 2 * MINUTE),
        ("2 hours", 2 * HOUR),
        ("1 day", DAY),
        ("1 day 2 hours", DAY + 2 * HOUR),
        ("1 Day, 2 Hours", DAY + 2 * HOUR),
        ("1 day and 2 hours", DAY + 2 * HOUR),
        ("90 min", 90 * MINUTE),
        ("90min", 90 * MINUTE),
        ("90 min.", 90 * MINUTE),
        ("2h 30m", 2 * HOUR + 30 * MINUTE),
        ("1.5 hours", 90 * MINUTE),
        ("45 seconds", timedelta(seconds=45)),
        ("2 weeks", 14 * DAY),
        ("0", timedelta(0)),
        ("0 minutes", timedelta(0)),
        # Django's duration syntax, as the field took before.
        ("00:04:00", 4 * MINUTE),
        ("1 02:00:00", DAY + 2 * HOUR),
        ("P1DT2H", DAY + 2 * HOUR),
        # The shipped languages' words.
        ("1 jour et 2 heures", DAY + 2 * HOUR),
        ("1,5 heure", 90 * MINUTE),
        ("3 jours", 3 * DAY),
        ("2 часа 30 минут", 2 * HOUR + 30 * MINUTE),
        ("5 дней", 5 * DAY),
        ("1 ден и 2 часа", DAY + 2 * HOUR),
        ("3 седмици", 21 * DAY),
        ("1 deň 2 hodiny", DAY + 2 * HOUR),
        ("5 minút", 5 * MINUTE),
        ("2 týždne", 14 * DAY),
    ],
)
def test_delays_typed_in_words(text, delay):
    assert parse_delay(text) == delay


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Enter a duration such as “30 minutes”"),
        ("30", "“30” of what? Add the unit, e.g. “30 minutes” or “30 hours”."),
        ("minutes", "Enter a duration such as"),
        ("2 fortnights", "“fortnights” is not a unit of time."),
        ("-5 minutes", "Enter a duration such as"),
        ("-1 00:00:00", "Enter a duration such as"),
        ("1 2 hours", "Enter a duration such as"),
        ("soon", "Enter a duration such as"),
        ("12:3o", "Enter a duration such as"),
    ],
)
def test_what_is_not_a_delay_is_refused_with_the_accepted_forms(text, message):
    with pytest.raises(DelayError) as refused:
        parse_delay(text)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    "delay, english",
    [
        (timedelta(0), "0 minutes"),
        (MINUTE, "1 minute"),
        (90 * MINUTE, "1 hour 30 minutes"),
        (DAY + 2 * HOUR, "1 day 2 hours"),
        (3 * DAY + timedelta(seconds=5), "3 days 5 seconds"),
        (timedelta(milliseconds=1500), "00:00:01.500000"),  # exact, so it reads back
    ],
)
def test_delays_are_shown_in_words(delay, english):
    with translation.override("en"):
        assert describe_delay(delay) == english


@pytest.mark.parametrize(
    "language, delay, words",
    [
        ("fr", DAY + 2 * HOUR, "1 jour 2 heures"),
        ("ru", 2 * DAY + 5 * HOUR + 21 * MINUTE, "2 дня 5 часов 21 минута"),
        ("bg", 5 * DAY + HOUR, "5 дни 1 час"),
        ("sk", 5 * DAY + 2 * HOUR + MINUTE, "5 dní 2 hodiny 1 minúta"),
    ],
)
def test_each_language_writes_its_own_words(language, delay, words):
    with translation.override(language):
        assert describe_delay(delay) == words


@pytest.mark.parametrize("language", ["en", "fr", "ru", "bg", "sk"])
def test_what_is_shown_reads_back_in_every_language(language):
    delays = [timedelta(0), *(n * unit for n in (1, 2, 5, 11, 21, 22) for unit in (MINUTE, HOUR))]
    delays += [n * DAY + 3 * HOUR + 4 * MINUTE + timedelta(seconds=n) for n in (1, 2, 5, 21)]
    with translation.override(language):
        for delay in delays:
            assert parse_delay(describe_delay(delay)) == delay, describe_delay(delay)


# --- a delay and a time of day ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, timing",
    [
        ("2 hours", (2 * HOUR, None)),
        ("until 10:00", (timedelta(0), time(10))),
        ("Until 9:30", (timedelta(0), time(9, 30))),
        ("1 day, then until 10:00", (DAY, time(10))),
        ("1 day until 10:00", (DAY, time(10))),
        ("2 hours then until 18:45:30", (2 * HOUR, time(18, 45, 30))),
        ("until 10:00, contact's time", (timedelta(0), time(10))),
        ("1 jour, puis jusqu’à 10h00", (DAY, time(10))),
        ("до 10:00 по времени контакта", (timedelta(0), time(10))),
        ("1 deň, potom do 07:15", (DAY, time(7, 15))),
    ],
)
def test_a_timing_may_wait_for_a_time_of_day(text, timing):
    assert parse_wait(text) == timing


@pytest.mark.parametrize("text", ["until 25:00", "until 10:61", "until 10:00 tomorrow"])
def test_a_time_of_day_that_does_not_read_is_refused(text):
    with pytest.raises(DelayError) as refused:
        parse_wait(text)
    assert "until 10:00" in str(refused.value)


@pytest.mark.parametrize("language", ["en", "fr", "ru", "bg", "sk"])
def test_a_timing_shown_reads_back_in_every_language(language):
    timings = [(timedelta(0), time(10)), (DAY, time(9, 30)), (2 * HOUR, time(23, 5, 7))]
    with translation.override(language):
        for delay, until in timings:
            shown = describe_wait(delay, until)
            assert parse_wait(shown) == (delay, until), shown
    with translation.override("en"):  # shown in one language, read in another
        assert parse_wait(describe_wait(DAY, time(10))) == (DAY, time(10))


# --- in the admin --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_step_page_takes_and_shows_a_delay_in_words(admin_client):
    step = make_flow(steps=[("Nudge", timedelta(0), "email")]).steps.get()
    data = step_data(step, delay="1 day 2 hours", offer_valid_for="2 weeks")
    response = admin_client.post(step_url(step), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    step.refresh_from_db()
    assert (step.delay, step.offer_valid_for) == (DAY + 2 * HOUR, 14 * DAY)
    html = admin_client.get(step_url(step)).content.decode()
    assert 'name="delay" value="1 day 2 hours"' in html
    assert 'name="offer_valid_for" value="14 days"' in html
    assert 'placeholder="e.g. 2 hours"' in html


@pytest.mark.django_db
def test_a_step_page_refuses_a_bare_number_saying_what_it_takes(admin_client):
    step = make_flow(steps=[("Nudge", timedelta(0), "email")]).steps.get()
    response = admin_client.post(step_url(step), step_data(step, delay="30"))
    assert response.status_code == 200
    assert "“30” of what? Add the unit" in response.content.decode()
    step.refresh_from_db()
    assert step.delay == timedelta(0)


@pytest.mark.django_db
def test_the_flow_page_takes_step_delays_in_words_and_shows_them_in_the_admins_language(
    admin_client,
):
    data = flow_data(
        steps=[("1", "First", "30 minutes", "email"), ("2", "Second", "1 jour", "email")],
        conversion_window="5 days",
    )
    response = admin_client.post(reverse("admin:omnichannel_flow_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(Step.objects.order_by("position").values_list("delay", flat=True)) == [
        30 * MINUTE,
        DAY,
    ]
    flow = Step.objects.first().flow
    french = admin_client.get(
        reverse("admin:omnichannel_flow_change", args=[flow.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert 'value="30 minutes"' in french and 'value="1 jour"' in french
    assert 'name="conversion_window" value="5 jours"' in french
