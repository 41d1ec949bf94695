"""Exactly once, never after the purchase, nothing after STOP or erasure: with the CPU saturated.

Leases lapse when the machine is slow, so these runs make it slow: busy processes keep
every core at 100 % while real worker processes (embedded beat, PostgreSQL, Redis) send
to the fake HTTP provider. The dispatcher's lease (1 s) is shorter than the provider's
slow calls (2.5 s, one call in 250), so sweepers really do find each other's leases run out.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from omnichannel.carts.orders import record_order
from omnichannel.carts.recovery import detect_abandoned
from omnichannel.contacts.privacy.erasure import erase_contact
from omnichannel.core.links import unsubscribe_url
from omnichannel.flows.engine import advance_due
from omnichannel.integrations import OrderData
from omnichannel.models import CartSnapshot, Consent, Contact, Enrollment, Message
from omnichannel.models.messages import MessageStatus
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

from ..flows.conftest import make_flow
from .conftest import wait_until
from .fake_provider import FakeProvider
from .test_exactly_once import TOTAL, all_sent, assert_exactly_once, queue_messages

pytestmark = [pytest.mark.services, pytest.mark.faults]

LOADED_SETTINGS = "tests.services.loaded_worker_settings"
FLOW_SETTINGS = "tests.services.flow_worker_settings"
RECOVERY_SETTINGS = "tests.services.recovery_worker_settings"


@pytest.fixture
def cpu_saturated():
    """One busy process per core for the whole test, each in its own process group."""
    # Each hog also ends by itself once the test process is gone or after 30 minutes, so
    # not even a killed test run leaves one behind.
    hog = (
        "import os, time\n"
        f"parent, end = {os.getpid()}, time.monotonic() + 1800\n"
        "while os.getppid() == parent and time.monotonic() < end: pass\n"
    )
    hogs = [
        subprocess.Popen([sys.executable, "-c", hog], start_new_session=True)
        for _ in range(os.cpu_count() or 2)
    ]
    yield hogs
    for hog in hogs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(hog.pid, signal.SIGKILL)
        hog.wait(timeout=10)


def start_loaded(start_worker, provider, count, settings=LOADED_SETTINGS):
    env = {"FAKE_PROVIDER_URL": provider.url}
    return [start_worker(settings, beat=True, env=env) for _ in range(count)]


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def report(what, started, provider):
    """The run's figures: printed (``tests/run faults`` shows them) and appended to
    ``test-artifacts/fault-runs.txt``."""
    elapsed = time.monotonic() - started
    statuses = dict(Message.objects.values_list("status").annotate(n=Count("id")))
    duplicates = sum(1 for count in provider.accepted.values() if count > 1)
    line = (
        f"{what}: {TOTAL} messages drained in {elapsed:.1f} s; accepted {provider.total}, "
        f"duplicates {duplicates}, refused {provider.refused}, statuses {statuses}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"\n{line}")
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "fault-runs.txt").open("a") as figures:
        figures.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


@pytest.mark.parametrize("sweepers", [2, 4])
def test_several_sweepers_on_a_saturated_cpu(start_worker, cpu_saturated, sweepers):
    expected = queue_messages()
    started = time.monotonic()
    with FakeProvider(fail_ratio=0.3, slow_every=250, slow_delay=2.5) as provider:
        workers = start_loaded(start_worker, provider, sweepers)
        wait_until(all_sent, timeout=900, what="all messages sent", logs=[w.log for w in workers])
        report(f"{sweepers} sweepers, CPU saturated", started, provider)
        assert_exactly_once(provider, expected)
        assert provider.refused > 0.2 * TOTAL  # the transient failures really happened
        lost_lease = sum("lost its lease" in w.log.read_text() for w in workers)
        assert lost_lease > 0, "no lease ever lapsed: the run proved nothing"


def test_a_worker_killed_mid_batch_on_a_saturated_cpu(start_worker, cpu_saturated):
    expected = queue_messages()
    started = time.monotonic()
    with FakeProvider(fail_ratio=0.3, slow_every=250, slow_delay=2.5) as provider:
        doomed, survivor = start_loaded(start_worker, provider, 2)
        wait_until(
            lambda: Message.objects.filter(status=MessageStatus.SENT).count() >= 1000,
            timeout=600,
            what="1,000 sends",
            logs=[doomed.log, survivor.log],
        )
        doomed.kill()
        [restarted] = start_loaded(start_worker, provider, 1)
        logs = [doomed.log, survivor.log, restarted.log]
        wait_until(all_sent, timeout=900, what="all messages sent", logs=logs)
        report("2 sweepers, one SIGKILLed and restarted, CPU saturated", started, provider)
        assert_exactly_once(provider, expected)


class TestNothingAfterTheEvent:
    """A slow provider (0.3 s a message): the order, the unsubscribe and the erasure land
    while the worker is sending the batch; the messages behind them must not go."""

    def test_order_unsubscribe_and_erasure_mid_batch(self, start_worker, cpu_saturated):
        make_flow(
            name="Cart recovery", slug="cart-recovery", kind="cart_recovery",
            trigger="cart_abandoned", exit_goals=["ordered"],
            steps=[("Reminder", timedelta(hours=1), "email")],
        )  # fmt: skip
        idle_since = timezone.now() - timedelta(hours=3)
        people = [ContactFactory(consents=["email"]) for _ in range(30)]
        carts = [CartSnapshotFactory(contact=p, last_activity_at=idle_since) for p in people]
        detect_abandoned()
        advance_due()
        # One batch, sent in a known order: the last three are the ones the events stop.
        base = timezone.now() - timedelta(minutes=1)
        for position, person in enumerate(people):
            Message.objects.filter(contact=person).update(
                scheduled_at=base + timedelta(milliseconds=position)
            )
        buyer, leaver, erased = people[-3:]
        with FakeProvider(delay=0.3) as provider:
            [worker] = start_loaded(start_worker, provider, 1, FLOW_SETTINGS)
            wait_until(lambda: provider.total >= 3, timeout=120, what="3 sends", logs=[worker.log])
            record_order(
                OrderData(order_key="o-1", total=Decimal("20"), cart_key=carts[-3].cart_key),
                buyer,
            )
            assert Client().post(unsubscribe_url(leaver, "email")).status_code == 200
            erased_id = erased.pk
            erase_contact(erased, by="test")
            events_done = time.time()
            wait_until(
                lambda: (
                    not Message.objects.filter(
                        status__in=(MessageStatus.QUEUED, MessageStatus.SENDING)
                    ).exists()
                ),
                timeout=300,
                what="the batch to settle",
                logs=[worker.log],
            )
        stopped = Message.objects.filter(enrollment__contact__in=[buyer, leaver])
        assert set(stopped.values_list("status", flat=True)) == {MessageStatus.CANCELLED}
        assert not Message.objects.filter(contact_id=erased_id).exists()
        gone = {str(m.uuid) for m in stopped} | set(
            Message.objects.filter(status=MessageStatus.CANCELLED).values_list("uuid", flat=True)
        )
        late = [u for u in map(str, gone) if provider.accepted_at.get(u, 0) > events_done]
        assert late == [] and not (set(map(str, gone)) & set(provider.accepted))
        assert provider.total == 27
        assert Message.objects.filter(status=MessageStatus.SENT).count() == 27


def idle_carts_of_consenting_contacts(count):
    now = timezone.now()
    people = Contact.objects.bulk_create(
        Contact(email=f"cart{i}@example.com") for i in range(count)
    )
    Consent.objects.bulk_create(
        Consent(contact=p, channel="email", purpose="marketing", status="granted", granted_at=now)
        for p in people
    )
    CartSnapshot.objects.bulk_create(
        (
            CartSnapshot(
                cart_key=f"load-{i}", contact=p, currency="EUR", value=Decimal("25"),
                item_count=1, last_activity_at=now - timedelta(hours=3),
                lines=[{"product_id": "1", "name": "Mug", "quantity": 1, "unit_price": "25"}],
            )
            for i, p in enumerate(people)
        ),
        batch_size=1000,
    )  # fmt: skip


def test_flow_sweepers_and_cart_detection_killed_and_doubled(start_worker, cpu_saturated):
    """Two workers detect 3,000 idle carts and advance their recovery at once; one is
    killed mid-way and restarted: every cart is enrolled once and reminded once."""
    make_flow(
        name="Cart recovery", slug="cart-recovery", kind="cart_recovery",
        trigger="cart_abandoned", exit_goals=["ordered"],
        steps=[("Reminder", timedelta(0), "email")],
    )  # fmt: skip
    idle_carts_of_consenting_contacts(3000)
    workers = [start_worker(RECOVERY_SETTINGS, beat=True) for _ in range(2)]
    wait_until(
        lambda: Enrollment.objects.count() >= 500, timeout=300, what="500 enrollments",
        logs=[w.log for w in workers],
    )  # fmt: skip
    workers[0].kill()
    workers.append(start_worker(RECOVERY_SETTINGS, beat=True))
    wait_until(
        lambda: (
            Message.objects.filter(status=MessageStatus.SENT).count() == 3000
            and not CartSnapshot.objects.filter(status="open").exists()
        ),
        timeout=600,
        what="every cart enrolled and reminded",
        logs=[w.log for w in workers],
    )
    assert Enrollment.objects.count() == 3000
    assert Enrollment.objects.values("cart").distinct().count() == 3000
    assert Message.objects.count() == 3000
    assert Message.objects.values("enrollment").distinct().count() == 3000
