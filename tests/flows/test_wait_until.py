"""Waiting until a time of day in the contact's zone: the maths across zones and DST."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from omnichannel.core.local_time import next_local_time
from omnichannel.flows.engine import advance_due, enroll
from omnichannel.models import Enrollment, Step
from omnichannel.testing.factories import ContactFactory
from tests.clock import next_local

from .conftest import make_flow
from .test_admin import step_data, step_url

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


# --- the engine and the admin ------------------------------------------------------------


@pytest.mark.django_db
def test_the_engine_holds_a_step_until_ten_in_each_contacts_own_zone():
    flow = make_flow(
        steps=[("Hello", dt.timedelta(0), "email"), ("Tip", dt.timedelta(days=1), "email")]
    )
    Step.objects.filter(flow=flow, name="Tip").update(wait_until=TEN)
    # A start early in the Paris morning: a day later it is 06:00 in Paris and midnight in
    # New York, so both contacts wait, each for their own 10:00.
    start = next_local(PARIS, 6)
    paris = ContactFactory(time_zone="Europe/Paris", consents=["email"])
    new_york = ContactFactory(time_zone="America/New_York", consents=["email"])
    for contact in (paris, new_york):
        enroll(flow, contact, trigger_key=str(contact.pk), triggered_at=start)
    assert advance_due(now=start + dt.timedelta(minutes=1)).queued == 2
    waiting = dict(
        Enrollment.objects.filter(flow=flow).values_list("contact__time_zone", "next_step_at")
    )
    a_day_later = start + dt.timedelta(days=1, minutes=1)
    assert waiting == {
        "Europe/Paris": next_local(PARIS, 10, after=a_day_later),
        "America/New_York": next_local(NEW_YORK, 10, after=a_day_later),
    }
    # Nothing goes out before the contact's 10:00, and each goes out at it.
    assert advance_due(now=waiting["Europe/Paris"] - dt.timedelta(minutes=1)).queued == 0
    assert advance_due(now=waiting["Europe/Paris"]).queued == 1
    assert advance_due(now=waiting["America/New_York"]).queued == 1


@pytest.mark.django_db
def test_the_step_page_takes_a_time_of_day_and_refuses_one_that_does_not_read(admin_client):
    step = make_flow(steps=[("Tip", dt.timedelta(days=1), "email")]).steps.get()
    response = admin_client.post(step_url(step), step_data(step, delay="1 day", wait_until="25:00"))
    assert response.status_code == 200
    assert "Enter a time of day such as" in response.content.decode()
    step.refresh_from_db()
    assert step.wait_until is None

    response = admin_client.post(step_url(step), step_data(step, delay="1 day", wait_until="10:00"))
    assert response.status_code == 302, response.context and response.context["errors"]
    step.refresh_from_db()
    assert step.wait_until == TEN
    flow_page = admin_client.get(reverse("admin:omnichannel_flow_change", args=[step.flow.pk]))
    assert 'name="steps-0-wait_until" value="10:00"' in flow_page.content.decode()
    graph = admin_client.get(reverse("admin:omnichannel_flow_graph", args=[step.flow.pk])).json()
    [node] = [node for node in graph["nodes"] if node["id"] == f"step:{step.pk}"]
    assert node["delay_text"] == "1 day, then until 10:00, contact's time"
