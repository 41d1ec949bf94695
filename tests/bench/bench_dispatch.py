"""Dispatch throughput, queries per batch, and due-to-sent latency, on PostgreSQL.

    .venv/bin/python tests/bench/bench_dispatch.py   # DATABASE_URL defaults to local PostgreSQL

Creates a throwaway test database, queues messages for the locmem backend and prints:

* messages per second through the whole dispatcher (claim, policy, render, hand over,
  send, record) in one process, against a baseline in the same run: rendering and
  handing the same messages to the same backend with no database work at all;
* SQL queries per batch at three batch sizes (constant means the count does not grow
  with the batch);
* due-to-sent latency (p50 / p95 / max) when messages fall due over 40 s and a sweep
  runs every SWEEP_INTERVAL_SECONDS, as celery beat would run it.

Its throwaway database is ``test_omnichannel_bench_dispatch``: never the services tier's
``test_omnichannel`` nor another bench's, so a bench and a test run can share a server.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omnichannel_bench")

import django

django.setup()

from datetime import timedelta  # noqa: E402

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from omnichannel.channels import get_backend, locmem  # noqa: E402
from omnichannel.models import Contact, Message  # noqa: E402
from omnichannel.outbox import dispatch  # noqa: E402
from omnichannel.outbox.rendering import render_message  # noqa: E402

LOCMEM = "omnichannel.channels.locmem.LocmemBackend"
CONTENT = {
    "subject": "Your cart, {{ contact.first_name }}",
    "text": "Hello {{ contact.first_name }}, {{ n }} items wait for you. {{ unsubscribe_url }}",
    "html": "<p>Hello {{ contact.first_name }}</p><p>{{ n }} items</p>",
}


def queue(total, due_in=None):
    contacts = Contact.objects.bulk_create(
        Contact(email=f"bench{time.monotonic_ns()}-{i}@example.com", first_name="Ann")
        for i in range(min(total, 1000))
    )
    now = timezone.now()
    Message.objects.bulk_create(
        (
            Message(
                contact=contacts[i % len(contacts)],
                channel="email",
                purpose="transactional",
                idempotency_key=f"bench:{time.monotonic_ns()}:{i}",
                content=CONTENT,
                context={"n": i},
                scheduled_at=now + (due_in(i) if due_in else timedelta(0)),
            )
            for i in range(total)
        ),
        batch_size=2000,
    )


def reset():
    Message.objects.all().delete()
    Contact.objects.all().delete()
    locmem.clear()


def baseline(total):
    """Render and hand to the backend, no database: the floor the dispatcher adds to."""
    queue(total)
    messages = list(Message.objects.select_related("contact")[:total])
    backend = get_backend("email")
    started = time.perf_counter()
    for message in messages:
        message.to = message.contact.email
        backend.send(message, render_message(message))
    elapsed = time.perf_counter() - started
    reset()
    return total / elapsed


def throughput(total):
    queue(total)
    started = time.perf_counter()
    sent = 0
    owner = dispatch.worker_id()
    while batch := dispatch.dispatch_batch(owner):
        if not batch.claimed:
            break
        sent += batch.sent
    elapsed = time.perf_counter() - started
    assert sent == total == len(locmem.outbox), (sent, total, len(locmem.outbox))
    reset()
    return total / elapsed


def queries_per_batch(batch_size):
    with override_settings(
        OMNICHANNEL={
            **django.conf.settings.OMNICHANNEL,
            "CHANNEL_BACKENDS": {"email": LOCMEM},
            "DISPATCH_BATCH_SIZE": batch_size,
        }
    ):
        queue(batch_size)
        with CaptureQueriesContext(connection) as queries:
            report = dispatch.dispatch_batch(dispatch.worker_id())
        assert report.sent == batch_size
        reset()
        return len(queries)


def latency(interval, spread=40):
    """Messages fall due over ``spread`` seconds; a sweep runs every ``interval``."""
    queue(400, due_in=lambda i: timedelta(seconds=spread * i / 400))
    deadline = time.monotonic() + spread + 2 * interval
    while time.monotonic() < deadline:
        dispatch.sweep()
        time.sleep(interval)
    delays = sorted(
        (m.sent_at - m.scheduled_at).total_seconds() for m in Message.objects.filter(status="sent")
    )
    assert len(delays) == 400, len(delays)
    reset()
    return delays


def main():
    connection.settings_dict["TEST"]["NAME"] = "test_omnichannel_bench_dispatch"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    settings = django.conf.settings
    try:
        with override_settings(
            OMNICHANNEL={**settings.OMNICHANNEL, "CHANNEL_BACKENDS": {"email": LOCMEM}}
        ):
            total = 10_000
            floor = baseline(total)
            rate = throughput(total)
            print(f"dispatch throughput, {total} messages, 1 process, locmem backend:")
            print(f"  dispatcher      {rate:8.0f} messages/s")
            print(f"  baseline        {floor:8.0f} messages/s (render + backend only, no DB)")
            print(f"  ratio           {rate / floor:8.2f} of the baseline")
            print("queries per batch (claim .. record):")
            for size in (100, 200, 500):
                print(f"  batch of {size:4d}   {queries_per_batch(size):4d} queries")
            from omnichannel.conf import omnichannel_settings

            interval = omnichannel_settings.SWEEP_INTERVAL_SECONDS
            delays = latency(interval)
            p95 = delays[int(len(delays) * 0.95) - 1]
            print(f"due-to-sent latency, sweep every {interval} s, 400 messages due over 40 s:")
            print(
                f"  p50 {statistics.median(delays):.2f} s   p95 {p95:.2f} s   "
                f"max {delays[-1]:.2f} s"
            )
    finally:
        connection.creation.destroy_test_db(settings.DATABASES["default"]["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
