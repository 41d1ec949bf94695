"""10,000 messages, sent exactly once, whatever happens to the workers and the broker.

Real worker processes with embedded beat send over HTTP to a fake provider on 127.0.0.1,
which counts every message it accepts. Each scenario asserts zero duplicates (no message
accepted twice) and zero lost (every message accepted and recorded as sent).
"""

import re
import time

import pytest
from django.db.models import Count
from django.utils import timezone

from omnichannel.models import Contact, Message
from omnichannel.models.messages import MessageStatus

from .conftest import wait_until
from .fake_provider import FakeProvider

pytestmark = pytest.mark.services

TOTAL = 10_000
WORKER_SETTINGS = "tests.services.worker_settings"


def queue_messages(total=TOTAL, contacts=100):
    people = Contact.objects.bulk_create(
        Contact(email=f"shopper{i}@example.com") for i in range(contacts)
    )
    now = timezone.now()
    Message.objects.bulk_create(
        (
            Message(
                contact=people[i % contacts],
                channel="email",
                purpose="transactional",
                idempotency_key=f"bulk:{i}",
                content={"subject": "Order {{ n }}", "text": "Hello {{ n }}"},
                context={"n": i},
                scheduled_at=now,
            )
            for i in range(total)
        ),
        batch_size=2000,
    )
    return {str(u) for u in Message.objects.values_list("uuid", flat=True)}


def assert_exactly_once(provider, expected):
    duplicates = {key: count for key, count in provider.accepted.items() if count > 1}
    assert duplicates == {}, f"{len(duplicates)} messages accepted more than once"
    assert set(provider.accepted) == expected, "some messages never reached the provider"
    statuses = dict(Message.objects.values_list("status").annotate(n=Count("id")))
    assert statuses == {MessageStatus.SENT: len(expected)}


def sent_by(worker):
    """Messages a worker's sweeps reported sent (its log shows each task's result)."""
    return sum(int(n) for n in re.findall(r"'sent': (\d+)", worker.log.read_text()))


def all_sent():
    return not Message.objects.exclude(status=MessageStatus.SENT).exists()


def run(start_worker, provider, workers=1, broker=None):
    env = {"FAKE_PROVIDER_URL": provider.url}
    return [
        start_worker(WORKER_SETTINGS, beat=True, env=env, broker=broker) for _ in range(workers)
    ]


def test_worker_killed_mid_batch_and_restarted(start_worker):
    expected = queue_messages()
    # Each send takes 2 ms at the provider, so a batch lasts long enough to be killed in.
    with FakeProvider(delay=0.002) as provider:
        caught_mid_batch = False
        logs = []
        for _attempt in range(3):  # a kill can land between two batches: try again
            [worker] = run(start_worker, provider)
            logs.append(worker.log)
            wait_until(in_flight, timeout=120, what="a batch with the provider", logs=logs)
            worker.kill()
            caught_mid_batch = Message.objects.filter(status=MessageStatus.SENDING).exists()
            if caught_mid_batch:
                break
        assert caught_mid_batch, "no kill landed while the worker held leased messages"
        assert provider.total < TOTAL, "the kill came too late to test anything"
        [restarted] = run(start_worker, provider)
        wait_until(all_sent, timeout=300, what="all messages sent", logs=[*logs, restarted.log])
        assert_exactly_once(provider, expected)


def in_flight():
    """Messages are being handed to the provider right now (some already accepted)."""
    return (
        Message.objects.filter(status=MessageStatus.SENDING, handed_at__isnull=False).exists()
        and Message.objects.filter(status=MessageStatus.SENT).count() >= 500
    )


def test_redis_down_for_30_seconds(start_worker, private_redis):
    """The broker dies (its queued wake-ups with it) and comes back on the same port.

    Always a Redis of the test's own, whatever TEST_BROKER_URL says: it is the one the
    test stops, by PID.
    """
    expected = queue_messages()
    with FakeProvider() as provider:
        [worker] = run(start_worker, provider, broker=private_redis.url)
        wait_until(
            lambda: provider.total >= 1000, timeout=120, what="1,000 sends", logs=[worker.log]
        )
        private_redis.stop()
        assert not private_redis.up()
        time.sleep(30)
        private_redis.start()
        wait_until(all_sent, timeout=300, what="all messages sent", logs=[worker.log])
        assert_exactly_once(provider, expected)


def test_two_sweepers_at_once(start_worker):
    expected = queue_messages()
    with FakeProvider() as provider:
        workers = run(start_worker, provider, workers=2)
        wait_until(all_sent, timeout=300, what="all messages sent", logs=[w.log for w in workers])
        assert_exactly_once(provider, expected)
        # Both really sent: each worker's sweeps report messages sent.
        assert all(sent_by(worker) > 0 for worker in workers), [sent_by(w) for w in workers]


def test_provider_failing_30_percent_transiently(start_worker):
    expected = queue_messages()
    with FakeProvider(fail_ratio=0.3) as provider:
        [worker] = run(start_worker, provider)
        wait_until(all_sent, timeout=400, what="all messages sent", logs=[worker.log])
        assert_exactly_once(provider, expected)
        assert provider.refused > 0.2 * TOTAL  # the failures really happened
        retried = Message.objects.filter(attempts__gt=1).count()
        assert retried > 0.2 * TOTAL
