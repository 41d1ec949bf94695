"""omnichannel.testing: what a shop's own tests use, through the public paths only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from omnichannel.flows.engine import trigger
from omnichannel.testing import (
    LOCMEM_BACKENDS,
    CartSnapshotFactory,
    ContactFactory,
    clear_sent,
    run_due,
    sent,
)

from .flows.conftest import make_flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_memory(settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "SHOP_ADAPTER": "omnichannel.testing.FakeAdapter",
        "CHANNEL_BACKENDS": LOCMEM_BACKENDS,
    }
    clear_sent()
    yield sent
    clear_sent()


def test_run_due_takes_an_idle_cart_to_its_first_reminder(in_memory):
    make_flow(
        slug="cart-recovery",
        kind="cart_recovery",
        trigger="cart_abandoned",
        steps=[("Reminder", timedelta(0), "email")],
    )
    ann = ContactFactory(first_name="Ann", consents=["email"])
    CartSnapshotFactory(contact=ann, last_activity_at=timezone.now() - timedelta(hours=2))

    report = run_due()

    assert (report.abandoned, report.queued, report.sent) == (1, 1, 1)
    [(channel, address, rendered, _uuid)] = in_memory
    assert (channel, address, rendered["subject"]) == ("email", ann.email, "Reminder Ann")
    assert run_due().sent == 0  # nothing left to do


def test_run_due_does_only_what_is_due(in_memory):
    flow = make_flow(
        steps=[("Hello", timedelta(0), "email"), ("Later", timedelta(days=1), "email")]
    )
    ann = ContactFactory(first_name="Ann", consents=["email"])
    trigger(flow.trigger, ann, key="signup:ann")

    assert run_due().sent == 1
    assert [rendered["subject"] for _c, _a, rendered, _u in in_memory] == ["Hello Ann"]
