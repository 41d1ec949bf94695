"""Queueing an event: one delivery row per active endpoint subscribed to it.

Queueing only writes rows; the sweeper (``delivery``) POSTs them. It runs after the
transaction that produced the event committed (the app's signals are sent on commit, and
``queue_on_commit`` waits for the current one), so an event rolled back is never
announced and the shop's request never waits for an endpoint.
"""

import logging
import uuid

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from ..models import WebhookDelivery, WebhookEndpoint
from ..models.webhooks import TEST_EVENT
from .events import envelope, test_data
from .tasks import deliver_webhooks

logger = logging.getLogger(__name__)

WAKE_CACHE_KEY = "omnichannel:webhooks-wake"


def subscribed_endpoints(event_type):
    # In Python: a JSON list lookup is not portable across databases, and endpoints are few.
    return [e for e in WebhookEndpoint.objects.filter(is_active=True) if event_type in e.events]


def queue_events(event_type, items, endpoints=None):
    """Write the deliveries of events of one type; returns them (none without a subscriber).

    ``items`` are ``(data, contact_uuid)`` pairs, one per event; all of them are written
    in one INSERT.
    """
    endpoints = subscribed_endpoints(event_type) if endpoints is None else endpoints
    if not endpoints or not items:
        return []
    now = timezone.now()
    deliveries = []
    for data, contact_uuid in items:
        event_id = uuid.uuid4()
        payload = envelope(event_type, data, event_id=event_id, now=now)
        deliveries += [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                contact_uuid=contact_uuid,
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ]
    deliveries = WebhookDelivery.objects.bulk_create(deliveries)
    transaction.on_commit(wake_sweeper)
    return deliveries


def queue_on_commit(event_type, build):
    """Queue the events ``build()`` returns (``(data, contact_uuid)`` pairs) once the
    current transaction commits."""

    def queue():
        try:
            queue_events(event_type, build())
        except Exception:  # an event lost is logged; the code that sent it goes on
            logger.exception("omnichannel: queueing the %s webhook failed", event_type)

    transaction.on_commit(queue)


def queue_test_event(endpoints):
    """A test event for each of ``endpoints``, subscribed or not; returns how many."""
    for endpoint in endpoints:
        queue_events(TEST_EVENT, [(test_data(endpoint), None)], endpoints=[endpoint])
    return len(endpoints)


def wake_sweeper():
    """Ask a worker to deliver now rather than at the next beat: best effort, once a second."""
    if not cache.add(WAKE_CACHE_KEY, True, timeout=1):
        return
    try:
        deliver_webhooks.apply_async(retry=False)
    except Exception as exc:  # the broker is down: the beat sweep finds the rows later
        logger.warning("omnichannel: could not wake the webhook sweeper: %s", exc)
