"""A signup in the sample shop starts the shipped welcome series, run by a real worker.

The test process signs up through the shop's own view; a Celery worker with embedded
beat (advancing flows and sending every second) on PostgreSQL and Redis takes it from
there, and its email reaches a fake provider over HTTP.
"""

from datetime import timedelta

import pytest
from django.urls import reverse

from omnichannel.flows.defaults import install_defaults
from omnichannel.models import Enrollment, Message
from omnichannel.models.messages import MessageStatus

from .conftest import wait_until
from .fake_provider import FakeProvider

pytestmark = pytest.mark.services

WORKER_SETTINGS = "tests.services.flow_worker_settings"


def test_signup_to_the_first_welcome_email_through_the_worker(start_worker, client):
    flow = next(
        f for f, _created in install_defaults(activate=True, fast=True) if f.slug == "welcome"
    )
    with FakeProvider() as provider:
        worker = start_worker(WORKER_SETTINGS, beat=True, env={"FAKE_PROVIDER_URL": provider.url})
        response = client.post(
            reverse("signup"),
            {
                "username": "ann",
                "email": "ann@example.com",
                "password1": "a-long-pass-phrase-1",
                "password2": "a-long-pass-phrase-1",
                "email_offers": "on",
            },
        )
        assert response.status_code == 302
        enrollment = Enrollment.objects.get(flow=flow)

        wait_until(lambda: provider.total == 1, timeout=20, what="step 1", logs=[worker.log])
        message = Message.objects.get(enrollment=enrollment)
        assert list(provider.accepted) == [str(message.uuid)]
        wait_until(
            lambda: Message.objects.filter(pk=message.pk, status=MessageStatus.SENT).exists(),
            timeout=10,
            what="the send to be recorded",
            logs=[worker.log],
        )
    message.refresh_from_db()
    assert message.step.position == 0 and message.rendered["subject"].startswith("Welcome to")
    assert "/omnichannel/c/" in message.rendered["html"]  # the worker tracked the links
    # Step 2 waits its (fast) four minutes from the moment step 1 was queued.
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.next_step.position) == ("active", 1)
    assert enrollment.next_step_at - message.scheduled_at == timedelta(minutes=4)
