"""Outgoing webhook throughput, and what queueing the events of a sent batch costs.

    .venv/bin/python tests/bench/bench_webhooks.py   # DATABASE_URL defaults to local PostgreSQL

Creates a throwaway test database (``test_<DATABASE_URL's name>_webhooks``), starts four
loopback HTTP endpoints (tests/webhook_receiver.py) and prints:

* deliveries per second through the sweeper (claim, sign, POST, record) in one process,
  against a baseline in the same run: the same signed POSTs to the same endpoints from the
  same number of threads, with no database work at all;
* the same with one of the endpoints hanging past the timeout: how many deliveries the
  healthy ones get per second meanwhile;
* what ``message_sent`` for one dispatcher batch of 200 messages costs the dispatcher's
  process: queries and milliseconds to queue 400 deliveries (two endpoints).
"""

import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnichannel_bench")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from omnichannel import signals  # noqa: E402
from omnichannel.models import Contact, Message, WebhookDelivery, WebhookEndpoint  # noqa: E402
from omnichannel.outgoing import delivery  # noqa: E402
from omnichannel.outgoing.queueing import queue_events  # noqa: E402
from tests.webhook_receiver import Receiver  # noqa: E402

ENDPOINTS = 4
EVENT = "message.sent"


def data(i):
    return {
        "contact": {"uuid": f"00000000-0000-0000-0000-{i:012d}", "email": f"c{i}@example.com"},
        "message": {"uuid": f"10000000-0000-0000-0000-{i:012d}", "channel": "email"},
    }


def reset():
    WebhookDelivery.objects.all().delete()
    WebhookEndpoint.objects.all().delete()


def queue(receivers, per_endpoint):
    endpoints = [WebhookEndpoint.objects.create(url=r.url, events=[EVENT]) for r in receivers]
    for endpoint in endpoints:
        queue_events(EVENT, [(data(i), None) for i in range(per_endpoint)], [endpoint])
    return endpoints


def baseline(receivers, per_endpoint):
    """The same signed POSTs, one thread per endpoint, no database."""
    endpoints = queue(receivers, per_endpoint)
    rows = list(WebhookDelivery.objects.select_related("endpoint").order_by("pk"))
    reset()
    by_endpoint = {e.pk: [d for d in rows if d.endpoint_id == e.pk] for e in endpoints}

    def post_all(deliveries):
        for row in deliveries:
            body = delivery.body_of(row)
            delivery.post(
                row.endpoint.url, body, delivery.headers_for(row, body, timezone.now()), 10
            )

    started = time.perf_counter()
    threads = [threading.Thread(target=post_all, args=(d,)) for d in by_endpoint.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(rows) / (time.perf_counter() - started)


def sweeper(receivers, per_endpoint, healthy=None):
    """Deliveries per second to the ``healthy`` endpoints (default: all) through sweeps."""
    endpoints = queue(receivers, per_endpoint)
    healthy = endpoints if healthy is None else endpoints[:healthy]
    wanted = len(healthy) * per_endpoint
    started = time.perf_counter()
    while WebhookDelivery.objects.filter(endpoint__in=healthy, status="delivered").count() < wanted:
        delivery.sweep()
    elapsed = time.perf_counter() - started
    reset()
    return wanted / elapsed


def queueing_cost():
    """Queries and ms the receiver of one ``message_sent`` batch adds (200 messages)."""
    for url in ("https://a.example.com/", "https://b.example.com/"):
        WebhookEndpoint.objects.create(url=url, events=[EVENT])
    contacts = Contact.objects.bulk_create(
        Contact(email=f"bench-{i}@example.com") for i in range(200)
    )
    now = timezone.now()
    messages = Message.objects.bulk_create(
        Message(contact=c, idempotency_key=f"bench-{c.pk}", channel="email", status="sent",
                scheduled_at=now, sent_at=now)
        for c in contacts
    )  # fmt: skip
    for message, contact in zip(messages, contacts, strict=True):
        message.contact = contact
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        signals.message_sent.send(sender=Message, messages=messages)
        elapsed = time.perf_counter() - started
    queued = WebhookDelivery.objects.count()
    reset()
    Message.objects.all().delete()
    Contact.objects.all().delete()
    return len(queries), elapsed * 1000, queued


def main():
    name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"test_{name}_webhooks"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    settings = django.conf.settings
    try:
        with (
            override_settings(OMNICHANNEL={**settings.OMNICHANNEL, "WEBHOOK_TIMEOUT_SECONDS": 1}),
            Receiver() as a,
            Receiver() as b,
            Receiver() as c,
            Receiver() as d,
        ):
            receivers, per_endpoint = [a, b, c, d], 500
            total = len(receivers) * per_endpoint
            floor = baseline(receivers, per_endpoint)
            rate = sweeper(receivers, per_endpoint)
            print(f"webhook throughput, {total} deliveries to {ENDPOINTS} loopback endpoints:")
            print(f"  sweeper         {rate:8.0f} deliveries/s (1 process, {ENDPOINTS} threads)")
            print(f"  baseline        {floor:8.0f} deliveries/s (same POSTs, no database)")
            print(f"  ratio           {rate / floor:8.2f} of the baseline")
            with Receiver(hang=3) as hanging:
                slowed = sweeper([a, b, c, hanging], 200, healthy=3)
            print("with one endpoint hanging past the 1 s timeout:")
            print(f"  healthy three   {slowed:8.0f} deliveries/s")
        count, ms, queued = queueing_cost()
        print(f"message_sent for a batch of 200 messages, 2 endpoints ({queued} deliveries):")
        print(f"  {count} queries, {ms:.1f} ms")
    finally:
        connection.creation.destroy_test_db(settings.DATABASES["default"]["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
