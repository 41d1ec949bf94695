"""Outgoing webhooks: signing, queueing on commit, payloads, the sweeper, admin, erasure.

The sweeper posts to a real HTTP server on a loopback port (tests/webhook_receiver.py);
time is moved by setting ``next_attempt_at``, never by waiting for a backoff.
"""

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from anymail.signals import AnymailTrackingEvent
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from omnichannel import signals
from omnichannel.carts.orders import record_order
from omnichannel.checks import check_webhook_timings
from omnichannel.contacts.consent import grant_consent, withdraw_consent
from omnichannel.contacts.privacy.erasure import erase_contact
from omnichannel.exceptions import WebhookSignatureError
from omnichannel.integrations.adapter import OrderData
from omnichannel.models import (
    CartSnapshot,
    Enrollment,
    Message,
    WebhookDelivery,
    WebhookEndpoint,
)
from omnichannel.models.webhooks import DeliveryStatus, WebhookEvent
from omnichannel.outgoing import delivery
from omnichannel.outgoing.erasure import ERASED
from omnichannel.outgoing.queueing import queue_events
from omnichannel.outgoing.signing import SIGNATURE_HEADER, signature_header, verify_signature
from omnichannel.schedule import periodic_tasks
from omnichannel.testing.factories import ContactFactory
from omnichannel.views.clicks import record_click
from omnichannel.webhooks.email_tracking import handle_tracking

from .flows.conftest import make_flow
from .readme import blocks
from .webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

ALL_EVENTS = [value for value, _label in WebhookEvent.choices]


@pytest.fixture
def webhook_settings(settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "WEBHOOK_TIMEOUT_SECONDS": 2,
        "WEBHOOK_LEASE_SECONDS": 30,
        "WEBHOOK_BACKOFF_SECONDS": 10,
        "WEBHOOK_BACKOFF_MAX_SECONDS": 600,
        "WEBHOOK_MAX_ATTEMPTS": 3,
    }
    return settings


def endpoint(url="https://hooks.example.com/in", events=ALL_EVENTS, **fields):
    return WebhookEndpoint.objects.create(url=url, events=list(events), **fields)


def sent_message(contact, **fields):
    values = {
        "channel": "email",
        "status": "sent",
        "scheduled_at": timezone.now(),
        "sent_at": timezone.now(),
        "context": {"flow": {"slug": "welcome"}, "step": {"position": 0}},
        **fields,
    }
    return Message.objects.create(
        contact=contact, idempotency_key=f"m-{Message.objects.count()}", **values
    )


def make_due(*deliveries):
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# --- signing ------------------------------------------------------------------------------


def test_a_signature_verifies_with_its_secret_and_its_timestamp():
    body = b'{"id": "1"}'
    header = signature_header(body, ["whsec_a"], timestamp=1_900_000_000)
    assert header.startswith("t=1900000000,v1=")
    assert verify_signature(body, header, "whsec_a", now=1_900_000_010) == 1_900_000_000


@pytest.mark.parametrize(
    ("body", "secrets", "now", "why"),
    [
        (b'{"id": "2"}', "whsec_a", 1_900_000_000, "matches none"),  # the body was changed
        (b'{"id": "1"}', "whsec_b", 1_900_000_000, "matches none"),  # another secret
        (b'{"id": "1"}', "whsec_a", 1_900_000_301, "replay"),  # too old
    ],
)
def test_a_changed_body_another_secret_or_an_old_signature_is_refused(body, secrets, now, why):
    header = signature_header(b'{"id": "1"}', ["whsec_a"], timestamp=1_900_000_000)
    with pytest.raises(WebhookSignatureError, match=why):
        verify_signature(body, header, secrets, now=now)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=123", "t=soon,v1=abc", None])
def test_a_malformed_header_is_refused_with_what_it_should_look_like(header):
    with pytest.raises(WebhookSignatureError, match="must look like"):
        verify_signature(b"{}", header, "whsec_a")


def test_while_rotating_the_header_carries_both_signatures_and_either_secret_verifies():
    header = signature_header(b"{}", ["whsec_new", "whsec_old"], timestamp=1_900_000_000)
    assert header.count("v1=") == 2
    for secret in ("whsec_new", "whsec_old", ["whsec_other", "whsec_old"]):
        assert verify_signature(b"{}", header, secret, now=1_900_000_000)


def test_the_previous_secret_signs_only_until_its_rotation_ends():
    now = timezone.now()
    hook = endpoint(
        previous_secret="whsec_old", previous_secret_expires_at=now + timedelta(hours=1)
    )
    assert delivery.signing_secrets(hook, now) == [hook.secret, "whsec_old"]
    assert delivery.signing_secrets(hook, now + timedelta(hours=2)) == [hook.secret]


def test_the_readmes_receiver_accepts_a_signed_delivery_and_refuses_the_rest(rf):
    (block,) = [b for b in blocks() if b.section == "Verifying a delivery"]
    namespace = {"SECRET": "whsec_readme"}
    exec(block.code, namespace)
    receive = namespace["omnichannel_events"]
    body = b'{"id": "1", "type": "endpoint.test"}'

    def post(headers):
        return receive(rf.post("/hooks/", body, "application/json", headers=headers))

    signed = signature_header(body, ["whsec_readme"])
    forged = signature_header(body, ["whsec_guess"])
    assert post({"Omnichannel-Signature": signed}).status_code == 204
    assert post({"Omnichannel-Signature": forged}).status_code == 400
    assert post({}).status_code == 400


# --- backoff ------------------------------------------------------------------------------


def test_retries_back_off_exponentially_with_jitter_up_to_the_cap(webhook_settings):
    for attempts, full in [(1, 10), (2, 20), (3, 40), (7, 600), (30, 600)]:
        waits = [delivery.backoff(attempts).total_seconds() for _ in range(50)]
        assert all(full / 2 <= wait <= full for wait in waits)
        assert len(set(waits)) > 1  # jittered


def test_a_retry_after_answer_is_waited_for_up_to_the_cap(webhook_settings):
    assert delivery.backoff(1, delivery.Answer(429, retry_after=300)).total_seconds() == 300
    assert delivery.backoff(1, delivery.Answer(429, retry_after=9999)).total_seconds() == 600
    assert delivery.retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None


# --- queueing -----------------------------------------------------------------------------


def test_an_event_is_queued_after_commit_for_each_active_subscribed_endpoint(
    django_capture_on_commit_callbacks,
):
    subscribed = endpoint(events=[WebhookEvent.SUBSCRIBED])
    endpoint(url="https://other.example.com/", events=[WebhookEvent.MESSAGE_SENT])
    endpoint(url="https://off.example.com/", events=ALL_EVENTS, is_active=False)
    contact = ContactFactory(email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        grant_consent(contact, "email", source="popup:summer")
        assert not WebhookDelivery.objects.exists()  # not before the commit
    (queued,) = WebhookDelivery.objects.all()
    assert queued.endpoint == subscribed and queued.event_type == "contact.subscribed"
    assert queued.status == "pending" and queued.next_attempt_at <= timezone.now()


def test_nothing_is_queued_for_a_change_that_was_rolled_back(django_capture_on_commit_callbacks):
    endpoint()
    contact = ContactFactory()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        grant_consent(contact, "email")
        raise RuntimeError("the shop's view failed")
    assert not WebhookDelivery.objects.exists()


def test_the_same_answer_twice_is_one_event(django_capture_on_commit_callbacks):
    endpoint()
    contact = ContactFactory()
    with django_capture_on_commit_callbacks(execute=True):
        grant_consent(contact, "email")
        grant_consent(contact, "email")
        withdraw_consent(contact, "email", source="unsubscribe link")
        withdraw_consent(contact, "email", source="unsubscribe link")
    assert list(WebhookDelivery.objects.order_by("pk").values_list("event_type", flat=True)) == [
        "contact.subscribed",
        "contact.unsubscribed",
    ]


def test_a_failing_queue_never_raises_into_the_code_that_sent_the_signal(
    django_capture_on_commit_callbacks, monkeypatch
):
    endpoint()

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr("omnichannel.outgoing.queueing.queue_events", broken)
    with django_capture_on_commit_callbacks(execute=True):
        grant_consent(ContactFactory(), "email")  # no exception
    assert not WebhookDelivery.objects.exists()


# --- payloads -----------------------------------------------------------------------------


def payload_of(event_type):
    return WebhookDelivery.objects.get(event_type=event_type).payload


def test_a_subscription_carries_the_contact_uuid_and_email_and_nothing_more_personal(
    django_capture_on_commit_callbacks,
):
    endpoint()
    contact = ContactFactory(email="ann@example.com", first_name="Ann", phone="+33612345678")
    with django_capture_on_commit_callbacks(execute=True):
        grant_consent(contact, "email", source="popup:summer", wording="10 % off")
    payload = payload_of("contact.subscribed")
    assert payload["type"] == "contact.subscribed" and payload["id"]
    assert payload["data"]["contact"] == {"uuid": str(contact.uuid), "email": "ann@example.com"}
    assert payload["data"]["channel"] == "email" and payload["data"]["source"] == "popup:summer"
    text = json.dumps(payload)
    assert "Ann" not in text and "612345678" not in text and "10 %" not in text


def test_sent_messages_are_one_event_each(django_capture_on_commit_callbacks):
    endpoint()
    contact = ContactFactory(email="ann@example.com")
    messages = [sent_message(contact), sent_message(contact, channel="sms")]
    with django_capture_on_commit_callbacks(execute=True):
        signals.message_sent.send(sender=Message, messages=messages)
    payloads = [d.payload for d in WebhookDelivery.objects.order_by("pk")]
    assert [p["data"]["message"]["uuid"] for p in payloads] == [str(m.uuid) for m in messages]
    assert payloads[0]["data"]["message"]["flow"] == "welcome"
    assert payloads[1]["data"]["message"]["channel"] == "sms"
    assert len({p["id"] for p in payloads}) == 2


def test_a_first_click_is_an_event_and_a_second_is_not(django_capture_on_commit_callbacks):
    endpoint()
    message = sent_message(ContactFactory())
    clicked = []
    signals.message_clicked.connect(lambda **kwargs: clicked.append(kwargs), weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            record_click(message.uuid, "https://shop.example.com/mug")
            record_click(message.uuid, "https://shop.example.com/mug")
    finally:
        signals.message_clicked.receivers.pop()
    assert [kwargs["url"] for kwargs in clicked] == ["https://shop.example.com/mug"]
    data = payload_of("message.clicked")["data"]
    assert data["url"] == "https://shop.example.com/mug"
    assert data["message"]["uuid"] == str(message.uuid)


def test_an_esp_click_and_unsubscribe_are_events_too(django_capture_on_commit_callbacks):
    endpoint()
    contact = ContactFactory(email="ann@example.com", consents=["email"])
    message = sent_message(contact)

    def report(event_type, event_id, **fields):
        event = AnymailTrackingEvent(
            event_type=event_type,
            event_id=event_id,
            metadata={"omnichannel_message": str(message.uuid)},
            recipient="ann@example.com",
            esp_event={"id": event_id},
            **fields,
        )
        handle_tracking(sender=None, event=event, esp_name="Postmark")

    with django_capture_on_commit_callbacks(execute=True):
        report("clicked", "e1", click_url="https://shop.example.com/mug")
        report("unsubscribed", "e2")
    assert payload_of("message.clicked")["data"]["url"] == "https://shop.example.com/mug"
    unsubscribed = payload_of("contact.unsubscribed")["data"]
    assert unsubscribed["source"] == "Postmark unsubscribed"
    assert unsubscribed["contact"]["uuid"] == str(contact.uuid)


def test_an_order_after_a_recovery_message_is_a_recovered_cart_and_an_attributed_order(
    django_capture_on_commit_callbacks,
):
    endpoint()
    contact = ContactFactory(email="ann@example.com")
    flow = make_flow(slug="cart", kind="cart_recovery", trigger="cart_abandoned")
    cart = CartSnapshot.objects.create(
        cart_key="c1", contact=contact, value=Decimal("42.50"), currency="EUR",
        item_count=2, last_activity_at=timezone.now() - timedelta(hours=3),
    )  # fmt: skip
    enrollment = Enrollment.objects.create(
        flow=flow, contact=contact, cart=cart, trigger_key="c1", triggered_at=cart.last_activity_at
    )
    reminder = sent_message(
        contact, enrollment=enrollment, sent_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        record_order(
            OrderData(order_key="o1", total=Decimal("42.50"), currency="EUR", cart_key="c1"),
            contact,
        )
    recovered = payload_of("cart.recovered")["data"]
    assert recovered["cart"]["uuid"] == str(cart.uuid) and recovered["cart"]["value"] == "42.50"
    assert recovered["order"]["order_key"] == "o1" and recovered["order"]["total"] == "42.50"
    attributed = payload_of("order.attributed")["data"]
    assert attributed["message"]["uuid"] == str(reminder.uuid)
    assert attributed["contact"]["uuid"] == str(contact.uuid)


def test_an_order_with_no_message_in_the_window_is_attributed_to_none(
    django_capture_on_commit_callbacks,
):
    endpoint()
    contact = ContactFactory()
    flow = make_flow()
    enrollment = Enrollment.objects.create(
        flow=flow,
        contact=contact,
        trigger_key="s",
        triggered_at=timezone.now() - timedelta(days=30),
    )
    sent_message(
        contact,
        enrollment=enrollment,
        # An email sent longer ago than ATTRIBUTION["send_days"]["email"], never clicked.
        sent_at=timezone.now() - timedelta(days=1, hours=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        record_order(OrderData(order_key="o2", total=Decimal("10")), contact)
    assert not WebhookDelivery.objects.filter(event_type="order.attributed").exists()


# --- the sweeper --------------------------------------------------------------------------


def queue_one(hook, event_type=WebhookEvent.MESSAGE_SENT, contact=None):
    data = {"contact": {"uuid": str(contact.uuid)} if contact else None}
    (queued,) = queue_events(event_type, [(data, contact.uuid if contact else None)], [hook])
    return queued


def test_a_failing_endpoint_is_retried_with_backoff_until_it_accepts(webhook_settings):
    with Receiver(statuses=[500, 503]) as receiver:
        hook = endpoint(url=receiver.url)
        queued = queue_one(hook)
        waits = []
        for _attempt in range(3):
            report = delivery.sweep()
            queued.refresh_from_db()
            if queued.status == DeliveryStatus.PENDING:
                waits.append((queued.next_attempt_at - queued.last_attempt_at).total_seconds())
                make_due(queued)
        assert report.delivered == 1
    assert queued.status == "delivered" and queued.attempts == 3
    assert queued.last_status_code == 200 and queued.last_response == '{"ok": true}'
    assert 5 <= waits[0] <= 10 and 10 <= waits[1] <= 20  # backed off, and further each time
    first, *_rest, last = receiver.requests
    assert first.body == last.body and first.headers["Omnichannel-Event-Id"] == str(queued.event_id)
    assert last.headers["Omnichannel-Delivery-Attempt"] == "3"
    verify_signature(last.body, last.headers[SIGNATURE_HEADER], hook.secret)
    assert json.loads(last.body) == queued.payload


def test_a_delivery_fails_after_its_last_attempt_keeping_the_last_answer(webhook_settings):
    with Receiver(statuses=[500, 500, 502]) as receiver:
        queued = queue_one(endpoint(url=receiver.url))
        for _attempt in range(3):
            delivery.sweep()
            make_due(queued)
        assert delivery.sweep().claimed == 0  # failed is final
    queued.refresh_from_db()
    assert queued.status == "failed" and queued.attempts == 3
    assert queued.last_status_code == 502 and queued.last_error == "HTTP 502"
    assert queued.last_response == "try again later"
    assert len(receiver.requests) == 3


def test_a_refused_connection_is_a_failed_attempt_with_its_error(webhook_settings):
    with Receiver() as receiver:
        url = receiver.url
    queued = queue_one(endpoint(url=url))  # the server is gone: nothing listens there
    assert delivery.sweep().retried == 1
    queued.refresh_from_db()
    assert queued.status == "pending" and queued.attempts == 1
    assert "ConnectionError" in queued.last_error and queued.last_status_code is None


def test_a_redirect_is_not_followed(webhook_settings):
    with Receiver(statuses=[301]) as receiver:
        queued = queue_one(endpoint(url=receiver.url))
        delivery.sweep()
    queued.refresh_from_db()
    assert queued.status == "pending" and queued.last_error == "HTTP 301"


def test_a_hanging_endpoint_times_out_without_holding_up_another(webhook_settings):
    webhook_settings.OMNICHANNEL = {**webhook_settings.OMNICHANNEL, "WEBHOOK_TIMEOUT_SECONDS": 1}
    with Receiver(hang=4) as hanging, Receiver() as healthy:
        stuck = queue_one(endpoint(url=hanging.url))
        fine = queue_one(endpoint(url=healthy.url))
        report = delivery.sweep()
    assert report.delivered == 1 and report.retried == 1
    stuck.refresh_from_db()
    fine.refresh_from_db()
    assert fine.status == "delivered"
    assert stuck.status == "pending" and stuck.last_error == "No answer within 1 s."
    # The healthy endpoint was posted to while the hanging one was still being waited for.
    assert healthy.requests[0].at < hanging.requests[0].at + 1


def test_a_failing_endpoint_holds_back_its_other_deliveries_without_spending_them(
    webhook_settings,
):
    with Receiver(statuses=[500]) as receiver:
        hook = endpoint(url=receiver.url)
        first, *others = [queue_one(hook) for _ in range(3)]
        later = queue_one(hook)
        WebhookDelivery.objects.filter(pk=later.pk).update(
            next_attempt_at=timezone.now() + timedelta(seconds=1)
        )
        report = delivery.sweep()
    assert len(receiver.requests) == 1  # one timeout per retry period, not one per delivery
    assert report.retried == 1 and report.held_back == 2
    first.refresh_from_db()
    for held in [*others, later]:
        held.refresh_from_db()
        assert held.status == "pending" and held.attempts == 0
        assert held.next_attempt_at == first.next_attempt_at


def test_an_endpoint_failing_too_often_is_disabled_and_the_admin_says_so(webhook_settings):
    webhook_settings.OMNICHANNEL = {
        **webhook_settings.OMNICHANNEL,
        "WEBHOOK_DISABLE_AFTER_FAILURES": 2,
    }
    with Receiver(statuses=[500, 500]) as receiver:
        hook = endpoint(url=receiver.url)
        queued = queue_one(hook)
        delivery.sweep()
        make_due(queued)
        assert delivery.sweep().disabled == 1
        make_due(queued)
        assert delivery.sweep().claimed == 0  # a disabled endpoint's deliveries wait
    hook.refresh_from_db()
    assert not hook.is_active and hook.consecutive_failures == 2
    assert hook.disabled_reason == "2 failed attempts in a row; the last: HTTP 500"
    response = superuser().get(reverse("admin:omnichannel_webhookendpoint_changelist"))
    warnings = [str(m) for m in response.context["messages"]]
    assert any(hook.url in text and "HTTP 500" in text for text in warnings)


def test_a_success_resets_the_endpoints_failure_count(webhook_settings):
    with Receiver() as receiver:
        hook = endpoint(url=receiver.url, consecutive_failures=7)
        queue_one(hook)
        delivery.sweep()
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0


def test_a_delivery_whose_worker_died_is_taken_over_once_its_lease_lapsed(webhook_settings):
    with Receiver() as receiver:
        queued = queue_one(endpoint(url=receiver.url))
        WebhookDelivery.objects.filter(pk=queued.pk).update(
            status="delivering", locked_by="dead", locked_until=timezone.now() + timedelta(1)
        )
        assert delivery.sweep().claimed == 0  # still leased
        WebhookDelivery.objects.filter(pk=queued.pk).update(
            locked_until=timezone.now() - timedelta(seconds=1)
        )
        assert delivery.sweep().delivered == 1
    assert len(receiver.requests) == 1


def test_the_sweeper_is_installed_with_the_other_periodic_tasks():
    assert periodic_tasks()["omnichannel: deliver webhooks"][0] == "omnichannel.deliver_webhooks"
    call_command("omnichannel_schedule", stdout=io.StringIO())
    assert PeriodicTask.objects.filter(task="omnichannel.deliver_webhooks").exists()


# --- checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"WEBHOOK_TIMEOUT_SECONDS": 70, "WEBHOOK_LEASE_SECONDS": 120}, "at most half"),
        ({"WEBHOOK_BACKOFF_SECONDS": 600, "WEBHOOK_BACKOFF_MAX_SECONDS": 60}, "could not back"),
    ],
)
def test_contradicting_webhook_timings_are_an_error(settings, values, expected):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, **values}
    (error,) = check_webhook_timings(None)
    assert error.id == "omnichannel.E017" and expected in error.msg


def test_the_default_webhook_timings_pass():
    assert check_webhook_timings(None) == []


# --- erasure ------------------------------------------------------------------------------


def test_an_erased_contacts_deliveries_lose_their_payload_and_the_unsent_are_cancelled():
    contact = ContactFactory(email="erase.me@example.com")
    hook = endpoint()
    pending, done = queue_one(hook, contact=contact), queue_one(hook, contact=contact)
    WebhookDelivery.objects.filter(pk=done.pk).update(status="delivered", last_response="thanks")
    other = queue_one(hook, contact=ContactFactory())
    erasure = erase_contact(contact, by="admin")
    pending.refresh_from_db()
    done.refresh_from_db()
    other.refresh_from_db()
    assert pending.status == "cancelled" and pending.payload == {} and pending.last_error == ERASED
    assert done.status == "delivered" and done.payload == {} and done.last_response == ""
    assert pending.contact_uuid is None and done.contact_uuid is None
    assert other.payload != {} and other.status == "pending"
    assert erasure.counts["scrubbed"]["omnichannel.WebhookDelivery"] == 2
    assert not WebhookDelivery.objects.filter(payload__icontains="erase.me").exists()


# --- admin --------------------------------------------------------------------------------


def superuser():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", "b@x.example", "pw"))
    return client


def run_action(client, changelist, action, pks):
    response = client.post(
        reverse(changelist), {"action": action, "_selected_action": pks}, follow=True
    )
    return [str(m) for m in response.context["messages"]]


def test_the_test_event_action_queues_one_per_endpoint_and_counts_them():
    hooks = [endpoint(events=[]), endpoint(url="https://b.example.com/", events=[])]
    feedback = run_action(
        superuser(),
        "admin:omnichannel_webhookendpoint_changelist",
        "send_test_event",
        [h.pk for h in hooks],
    )
    assert feedback == [
        "A test event was queued for each of 2 endpoints; their deliveries show in the list "
        "of webhook deliveries."
    ]
    assert sorted(WebhookDelivery.objects.values_list("endpoint", "event_type")) == [
        (hooks[0].pk, "endpoint.test"),
        (hooks[1].pk, "endpoint.test"),
    ]


def test_rotating_keeps_the_old_secret_signing_for_the_rotation_period(settings):
    hook = endpoint()
    old = hook.secret
    run_action(
        superuser(), "admin:omnichannel_webhookendpoint_changelist", "rotate_secret", [hook.pk]
    )
    hook.refresh_from_db()
    assert hook.secret != old and hook.secret.startswith("whsec_")
    assert delivery.signing_secrets(hook, timezone.now()) == [hook.secret, old]
    assert delivery.signing_secrets(hook, timezone.now() + timedelta(hours=25)) == [hook.secret]


def test_retry_now_makes_failed_and_waiting_deliveries_due_and_counts_what_it_skipped():
    contact = ContactFactory()
    hook = endpoint()
    failed, waiting, done, erased = (queue_one(hook, contact=contact) for _ in range(4))
    later = timezone.now() + timedelta(hours=1)
    WebhookDelivery.objects.filter(pk=failed.pk).update(status="failed", attempts=3)
    WebhookDelivery.objects.filter(pk=waiting.pk).update(attempts=1, next_attempt_at=later)
    WebhookDelivery.objects.filter(pk=done.pk).update(status="delivered", attempts=1)
    WebhookDelivery.objects.filter(pk=erased.pk).update(status="cancelled", payload={})
    feedback = run_action(
        superuser(),
        "admin:omnichannel_webhookdelivery_changelist",
        "retry_now",
        [d.pk for d in (failed, waiting, done, erased)],
    )
    assert feedback == [
        "2 deliveries will be retried now. 2 skipped: delivered, being delivered, or their "
        "contact was erased."
    ]
    now = timezone.now()
    for queued, attempts in [(failed, 0), (waiting, 1)]:
        queued.refresh_from_db()
        assert queued.status == "pending" and queued.attempts == attempts
        assert queued.next_attempt_at <= now
    done.refresh_from_db()
    assert done.status == "delivered"


def test_the_secret_is_shown_only_to_who_may_change_the_endpoint():
    hook = endpoint()
    viewer = get_user_model().objects.create_user("v", "v@x.example", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookendpoint"))
    client = Client()
    client.force_login(viewer)
    url = reverse("admin:omnichannel_webhookendpoint_change", args=[hook.pk])
    assert hook.secret not in client.get(url).content.decode()
    assert hook.secret in superuser().get(url).content.decode()


def test_the_endpoint_form_refuses_a_non_http_address():
    response = superuser().post(
        reverse("admin:omnichannel_webhookendpoint_add"),
        {"url": "ftp://hooks.example.com/", "events": ["message.sent"], "is_active": "on"},
    )
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()
    assert response.context["adminform"].form.errors["url"]


def test_an_endpoint_is_added_in_the_admin_with_a_generated_secret():
    response = superuser().post(
        reverse("admin:omnichannel_webhookendpoint_add"),
        {"url": "https://hooks.example.com/in", "events": ["message.sent"], "is_active": "on"},
    )
    assert response.status_code == 302
    (hook,) = WebhookEndpoint.objects.all()
    assert hook.events == ["message.sent"] and hook.secret.startswith("whsec_")
