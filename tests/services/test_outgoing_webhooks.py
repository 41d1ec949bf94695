"""Outgoing webhooks end to end: a Celery worker with beat, PostgreSQL, and real HTTP
endpoints on loopback ports (tests/webhook_receiver.py)."""

import json
import time

import pytest

from omnichannel.contacts.consent import grant_consent
from omnichannel.models import WebhookDelivery, WebhookEndpoint
from omnichannel.outgoing.signing import SIGNATURE_HEADER, verify_signature
from omnichannel.testing.factories import ContactFactory

from ..webhook_receiver import Receiver
from .conftest import wait_until

pytestmark = pytest.mark.services

WORKER_SETTINGS = "tests.services.webhook_worker_settings"


def subscribe(*urls):
    return [WebhookEndpoint.objects.create(url=url, events=["contact.subscribed"]) for url in urls]


def test_a_failing_endpoint_gets_the_event_once_signed_after_backed_off_retries(start_worker):
    with Receiver(statuses=[500, 503]) as receiver:
        (hook,) = subscribe(receiver.url)
        worker = start_worker(WORKER_SETTINGS, beat=True)
        contact = ContactFactory(email="ann@example.com")
        grant_consent(contact, "email", source="popup:summer")  # autocommit: queued now
        (queued,) = WebhookDelivery.objects.all()
        wait_until(
            lambda: WebhookDelivery.objects.get(pk=queued.pk).status == "delivered",
            timeout=60,
            what="the third attempt to be accepted",
            logs=[worker.log],
        )
        time.sleep(3)  # three more beats: nothing is posted again
        requests = list(receiver.requests)
    assert len(requests) == 3
    assert len({r.body for r in requests}) == 1
    assert {r.headers["Omnichannel-Event-Id"] for r in requests} == {str(queued.event_id)}
    for request in requests:
        verify_signature(request.body, request.headers[SIGNATURE_HEADER], hook.secret)
    payload = json.loads(requests[-1].body)
    assert payload["type"] == "contact.subscribed"
    assert payload["data"]["contact"] == {"uuid": str(contact.uuid), "email": "ann@example.com"}
    # Backoff of 1 s, then 2 s, each keeping at least half of it.
    first_wait = requests[1].at - requests[0].at
    second_wait = requests[2].at - requests[1].at
    assert first_wait >= 0.5 and second_wait >= 1.0
    queued.refresh_from_db()
    assert queued.attempts == 3 and queued.last_status_code == 200


def test_a_hanging_endpoint_times_out_without_stalling_another(start_worker):
    with Receiver(hang=6) as hanging, Receiver() as healthy:
        stuck, fine = subscribe(hanging.url, healthy.url)
        worker = start_worker(WORKER_SETTINGS, beat=True)
        grant_consent(ContactFactory(), "email")
        wait_until(
            lambda: (
                fine.deliveries.get().status == "delivered" and stuck.deliveries.get().attempts >= 1
            ),
            timeout=60,
            what="the healthy endpoint's delivery and the hanging one's first attempt",
            logs=[worker.log],
        )
        hanging_at, healthy_at = hanging.requests[0].at, healthy.requests[0].at
    assert stuck.deliveries.get().last_error == "No answer within 1 s."
    # To be retried, or (the backoff is 1 s here) already being retried.
    assert stuck.deliveries.get().status in ("pending", "delivering")
    # Posted to while the hanging endpoint was still being waited for (timeout: 1 s).
    assert healthy_at < hanging_at + 1
