"""The dispatcher's guarantees where they break: slow providers, lost leases, late events.

Each test drives the real dispatcher with a backend that does something at the moment of a
provider call (sleeps, lets another worker take over, lets the customer order or say STOP),
and checks what reached the provider and what the rows say afterwards.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from omnichannel.carts.orders import record_order
from omnichannel.carts.recovery import detect_abandoned
from omnichannel.channels import get_backend, locmem
from omnichannel.contacts.consent import withdraw_consent
from omnichannel.flows.engine import advance_due
from omnichannel.integrations import OrderData
from omnichannel.models import DeliveryEvent, Enrollment, Message
from omnichannel.outbox import dispatch, policy
from omnichannel.outbox import queueing as outbox
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

from .during_send import Killed, NoLookup
from .flows.conftest import make_flow

pytestmark = pytest.mark.django_db

CONTENT = {"subject": "Hello", "text": "Hi {{ contact.first_name }}"}


def queue_for(contacts, **kwargs):
    return [
        outbox.enqueue(contact, "email", CONTENT, idempotency_key=f"m{i}", **kwargs)[0]
        for i, contact in enumerate(contacts)
    ]


def three_hours_ago():
    return timezone.now() - timedelta(hours=3)


def sent_uuids():
    return [entry[3] for entry in locmem.outbox]


@pytest.fixture
def shoppers(db):
    return [ContactFactory(first_name=f"S{i}", consents=["email"]) for i in range(5)]


class TestLease:
    def test_the_lease_is_renewed_while_a_batch_is_worked_on(self, during_send, shoppers, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "DISPATCH_LEASE_SECONDS": 1}
        queue_for(shoppers)
        leases = []

        def slow(message):
            time.sleep(0.4)  # a third of the lease and more per call
            leases.append(
                max(Message.objects.filter(status="sending").values_list("locked_until", flat=True))
            )

        during_send.hook = slow
        claimed_at = timezone.now()
        report = dispatch.sweep()
        assert report.sent == 5
        # The claim leased the batch until claimed_at + 1 s; renewals moved it on.
        assert leases[-1] > claimed_at + timedelta(seconds=2)
        assert sorted(leases) == leases

    def test_a_worker_that_lost_its_lease_stops_and_overwrites_nothing(self, during_send, shoppers):
        queue_for(shoppers)

        def taken_over(message):
            # Our lease ran out meanwhile and another sweeper took the rest of the batch.
            Message.objects.exclude(pk=message.pk).update(locked_by="other-worker")

        during_send.hook = taken_over
        report = dispatch.dispatch_batch("slow-worker")
        assert report.sent == 1 and len(locmem.outbox) == 1
        rest = Message.objects.exclude(uuid=sent_uuids()[0])
        assert set(rest.values_list("status", "locked_by", "attempts")) == {
            ("sending", "other-worker", 0)
        }

    def test_a_message_with_the_provider_is_not_reconciled_before_its_window_closes(
        self, during_send, shoppers
    ):
        [message] = queue_for(shoppers[:1])
        now = timezone.now()
        window = dispatch.in_flight_window(get_backend("email"), message)
        # The worker's lease ran out, but the request may still be on its way.
        Message.objects.filter(pk=message.pk).update(
            status="sending", locked_by="busy", locked_until=now - timedelta(minutes=5),
            handed_at=now - window + timedelta(seconds=5), attempts=1,
        )  # fmt: skip
        assert dispatch.sweep().claimed == 0
        message.refresh_from_db()
        assert (message.status, message.locked_by) == ("sending", "busy")
        Message.objects.filter(pk=message.pk).update(handed_at=now - window - timedelta(seconds=1))
        report = dispatch.sweep()
        assert (report.requeued, report.sent) == (1, 1)

    def test_a_sending_message_without_a_lease_is_not_left_for_ever(self, during_send, shoppers):
        [message] = queue_for(shoppers[:1])
        Message.objects.filter(pk=message.pk).update(status="sending", locked_until=None)
        assert dispatch.sweep().sent == 1


class TestLastCheckPerMessage:
    def test_a_consent_withdrawn_mid_batch_stops_the_messages_not_yet_handed_over(
        self, during_send, shoppers
    ):
        ann = shoppers[0]
        queue_for([shoppers[1], ann, shoppers[2]])

        def ann_unsubscribes(message):
            if message.contact_id == shoppers[1].pk:
                # Only the ledger changes: no cancellation reaches the outbox rows.
                withdraw_consent(ann, "email", source="test")

        during_send.hook = ann_unsubscribes
        report = dispatch.sweep()
        assert report.sent == 2
        assert {e[1] for e in locmem.outbox} == {shoppers[1].email, shoppers[2].email}
        stopped = Message.objects.filter(contact=ann)
        assert set(stopped.values_list("status", "last_error")) == {
            ("cancelled", "no marketing consent for this channel")
        }

    def test_an_order_mid_batch_stops_the_reminder_behind_it(self, during_send):
        make_flow(
            name="Cart recovery", slug="cart-recovery", kind="cart_recovery",
            trigger="cart_abandoned", exit_goals=["ordered"],
            steps=[("Reminder", timedelta(hours=1), "email")],
        )  # fmt: skip
        people = [ContactFactory(first_name=f"C{i}", consents=["email"]) for i in range(3)]
        carts = [CartSnapshotFactory(contact=p, last_activity_at=three_hours_ago()) for p in people]
        detect_abandoned()
        advance_due()
        assert Message.objects.filter(status="queued").count() == 3
        buyer, buyer_cart = people[2], carts[2]
        # The batch's last message, whatever order the enrollments were created in.
        Message.objects.filter(contact=buyer).update(priority=F("priority") - 1)

        def buyer_orders(message):
            if (
                message.contact_id != buyer.pk
                and not Message.objects.filter(contact=buyer, status="cancelled").exists()
            ):
                # The order is recorded but its exit signal has not run yet (no on_commit).
                record_order(
                    OrderData(order_key="o1", total=Decimal("9"), cart_key=buyer_cart.cart_key),
                    buyer,
                )

        during_send.hook = buyer_orders
        dispatch.sweep()
        assert buyer.email not in {entry[1] for entry in locmem.outbox}
        reminder = Message.objects.get(contact=buyer)
        assert (reminder.status, reminder.last_error) == (
            "cancelled",
            "left the flow: placed an order",
        )

    def test_the_last_step_of_a_completed_enrollment_is_stopped_by_an_order(
        self, during_send, django_capture_on_commit_callbacks
    ):
        make_flow(
            name="Cart recovery", slug="cart-recovery", kind="cart_recovery",
            trigger="cart_abandoned", exit_goals=["ordered"],
            steps=[("Reminder", timedelta(hours=1), "email")],
        )  # fmt: skip
        ann = ContactFactory(consents=["email"])
        cart = CartSnapshotFactory(
            contact=ann, last_activity_at=timezone.now() - timedelta(hours=3)
        )
        detect_abandoned()
        advance_due()
        enrollment = Enrollment.objects.get()
        assert enrollment.state == "completed"  # its only message is queued, not sent
        with django_capture_on_commit_callbacks(execute=True):
            record_order(OrderData(order_key="o1", total=Decimal("9"), cart_key=cart.cart_key), ann)
        assert Message.objects.get().status == "cancelled"
        enrollment.refresh_from_db()
        assert enrollment.state == "exited"
        assert dispatch.sweep().sent == 0 and locmem.outbox == []


class TestCrash:
    def test_a_killed_worker_leaves_at_most_one_message_uncertain(self, settings, shoppers):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "CHANNEL_BACKENDS": {"email": "tests.during_send.NoLookup"},
        }
        locmem.clear()
        queue_for(shoppers)
        calls = []

        def die_on_the_third(message):
            calls.append(message.pk)
            if len(calls) == 3:
                raise Killed

        NoLookup.hook = die_on_the_third
        try:
            with pytest.raises(Killed):
                dispatch.dispatch_batch("doomed")
        finally:
            NoLookup.hook = None
        rows = sorted(
            (m.status, m.handed_at is not None, m.sent_at is not None)
            for m in Message.objects.all()
        )
        # Two marked as sent by the hand-overs after them (their details not written yet:
        # the batch never ended), the one in the provider's hands, two never handed over.
        assert rows == [
            ("sending", False, False), ("sending", False, False), ("sending", True, False),
            ("sending", True, True), ("sending", True, True),
        ]  # fmt: skip
        # Long after: the lease and the in-flight window have run out.
        later = timezone.now() - timedelta(hours=1)
        Message.objects.filter(status="sending").update(locked_until=later)
        Message.objects.filter(status="sending", handed_at__isnull=False).update(handed_at=later)
        dispatch.sweep()
        assert Message.objects.filter(status="failed").count() == 1
        assert Message.objects.get(status="failed").last_error == dispatch.UNCERTAIN_REASON
        assert Message.objects.filter(status="sent").count() == 4
        # The two whose details went unrecorded keep their send time and get their event.
        assert DeliveryEvent.objects.filter(kind="sent").count() == 4


class TestPolicyIsolation:
    def test_a_message_the_policy_cannot_judge_fails_alone(
        self, during_send, shoppers, monkeypatch
    ):
        queue_for(shoppers)
        broken = shoppers[3]
        real_decide = policy.decide

        def decide(message, *args):
            if message.contact_id == broken.pk:
                raise ValueError("bad send window")
            return real_decide(message, *args)

        monkeypatch.setattr(policy, "decide", decide)
        report = dispatch.sweep()
        assert (report.sent, report.failed) == (4, 1)
        failed = Message.objects.get(status="failed")
        assert failed.contact_id == broken.pk
        assert "could not decide: bad send window" in failed.last_error


def test_every_backend_declares_its_request_timeout():
    from omnichannel.channels.email import EmailBackend
    from omnichannel.channels.twilio_sms import TwilioSmsBackend
    from omnichannel.channels.webpush import WebPushBackend

    for backend in (EmailBackend(), TwilioSmsBackend(), WebPushBackend(), locmem.LocmemBackend()):
        assert 0 < backend.request_timeout <= 60, backend


def test_the_email_timeout_follows_anymail_and_django_settings(settings):
    from omnichannel.channels.email import EmailBackend

    settings.ANYMAIL = {"REQUESTS_TIMEOUT": (3.05, 20)}
    assert EmailBackend().request_timeout == pytest.approx(23.05)
    settings.EMAIL_TIMEOUT = 12
    assert EmailBackend().request_timeout == 12
