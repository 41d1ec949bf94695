"""SMS through Twilio: the exact API request, error mapping, and crash reconciliation."""

from datetime import timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
import requests
from django.utils import timezone

from omnichannel.channels import get_backend
from omnichannel.models import DeliveryEvent, Message, SenderSlot, Suppression
from omnichannel.models.consent import SuppressionReason
from omnichannel.models.messages import DeliveryEventKind, MessageStatus
from omnichannel.outbox.dispatch import in_flight_window, sweep
from omnichannel.outbox.queueing import enqueue
from omnichannel.testing.factories import ContactFactory

from .twilio_fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    MESSAGES_URL,
    error_body,
    install,
    message_resource,
)

pytestmark = pytest.mark.django_db

PHONE = "+33612345678"
SERVICE_SID = "MG" + "b2" * 16


@pytest.fixture
def twilio(monkeypatch, settings):
    return install(monkeypatch, settings)


@pytest.fixture
def ann(db):
    return ContactFactory(first_name="Ann", phone=PHONE, consents=["sms"])


def queue_sms(contact, text="Hi {{ contact.first_name }}, your cart is waiting.", key="sms-1"):
    message, _ = enqueue(contact, "sms", {"text": text}, idempotency_key=key)
    return message


def status_url(message):
    return f"https://shop.example.com/omnichannel/webhooks/twilio/status/?m={message.uuid}"


class TestSend:
    def test_the_dispatcher_sends_one_exact_request(self, twilio, ann):
        message = queue_sms(ann)
        twilio.answer(201, message_resource(sid="SM1", body="Hi Ann, your cart is waiting."))

        report = sweep()

        assert report.sent == 1
        [request] = twilio.requests
        assert (request.method, request.url, request.auth) == (
            "POST",
            MESSAGES_URL,
            (ACCOUNT_SID, AUTH_TOKEN),
        )
        assert request.form == {
            "To": PHONE,
            "From": FROM_NUMBER,
            "Body": "Hi Ann, your cart is waiting.",
            "StatusCallback": status_url(message),
            "ValidityPeriod": "14400",
        }
        message.refresh_from_db()
        assert (message.status, message.provider, message.provider_message_id) == (
            MessageStatus.SENT,
            "twilio",
            "SM1",
        )
        assert (message.to, message.segments) == (PHONE, 1)

    def test_the_sender_is_paced_per_number(self, twilio, ann):
        queue_sms(ann)
        sweep()
        assert SenderSlot.objects.filter(sender=f"sms:{FROM_NUMBER}").exists()

    def test_a_messaging_service_replaces_the_number(self, twilio, ann, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID}
        message = queue_sms(ann)
        sweep()
        form = twilio.requests[0].form
        assert form["MessagingServiceSid"] == SERVICE_SID
        assert "From" not in form
        assert get_backend("sms").sender(message) == SERVICE_SID

    def test_segments_are_counted_when_twilio_does_not_say(self, twilio, ann):
        # A Messaging Service answers num_segments "0" until it has picked a number.
        text = "x" * 200
        message = queue_sms(ann, text=text)
        twilio.answer(201, message_resource(body=text, num_segments="0"))
        sweep()
        message.refresh_from_db()
        assert message.segments == 2

    def test_a_price_in_the_answer_is_the_cost(self, twilio, ann):
        message = queue_sms(ann)
        twilio.answer(201, message_resource(price="-0.07900", price_unit="eur"))
        sweep()
        message.refresh_from_db()
        assert (message.cost, message.cost_currency) == (Decimal("0.07900"), "EUR")

    def test_no_status_callback_without_a_public_url(self, twilio, ann, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "PUBLIC_BASE_URL": None}
        queue_sms(ann)
        sweep()
        assert "StatusCallback" not in twilio.requests[0].form

    def test_the_validity_period_is_a_setting(self, twilio, ann, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "TWILIO_VALIDITY_PERIOD": 3600}
        queue_sms(ann)
        sweep()
        assert twilio.requests[0].form["ValidityPeriod"] == "3600"


class TestErrors:
    @pytest.mark.parametrize(
        "answer",
        [
            (429, error_body(20429, "Too Many Requests", 429)),
            (503, error_body(20503, "Service Unavailable", 503)),
            requests.ConnectionError("connection refused"),
        ],
    )
    def test_transient_failures_retry_later(self, twilio, ann, answer):
        if isinstance(answer, Exception):
            twilio.fail_with(answer)
        else:
            twilio.answer(*answer)
        message = queue_sms(ann)

        report = sweep()

        message.refresh_from_db()
        assert report.retried == 1
        assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
        assert message.scheduled_at > timezone.now()
        assert message.events.filter(kind=DeliveryEventKind.RETRY).count() == 1

    def test_a_timeout_is_settled_by_lookup_not_by_sending_again(self, twilio, ann):
        """Twilio may have accepted a request whose answer timed out: ask, don't resend."""
        twilio.fail_with(requests.ReadTimeout("read timed out"))
        message = queue_sms(ann)
        assert sweep().sent == 0
        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.SENDING, 1)
        assert message.handed_at is not None

        listed = message_resource(sid="SMaccepted", date_created=format_datetime(message.handed_at))
        twilio.answer(200, {"messages": [listed], "next_page_uri": None})
        # Its in-flight window is still open: the request may yet land, so nobody asks.
        Message.objects.filter(pk=message.pk).update(locked_until=timezone.now())
        assert sweep().claimed == 0
        assert [r.method for r in twilio.requests] == ["POST"]
        # Once the request timeout and the grace have passed, the provider is asked.
        window = in_flight_window(get_backend("sms"))
        Message.objects.filter(pk=message.pk).update(handed_at=message.handed_at - window)
        report = sweep()

        message.refresh_from_db()
        assert report.sent == 1
        assert (message.status, message.provider_message_id) == (MessageStatus.SENT, "SMaccepted")
        creates = [r for r in twilio.requests if r.method == "POST"]
        assert len(creates) == 1  # never sent twice

    @pytest.mark.parametrize(
        ("code", "reason"),
        [
            (21211, SuppressionReason.INVALID),
            (21614, SuppressionReason.INVALID),
            (21612, SuppressionReason.INVALID),
            (21610, SuppressionReason.STOP),
        ],
    )
    def test_address_errors_fail_and_suppress(self, twilio, ann, code, reason):
        twilio.answer(400, error_body(code, "The 'To' number is not reachable.", 400))
        message = queue_sms(ann)

        sweep()

        message.refresh_from_db()
        assert message.status == MessageStatus.FAILED
        assert f"twilio 400 {code}" in message.last_error
        suppression = Suppression.objects.get(channel="sms", address=PHONE)
        assert suppression.reason == reason

    def test_other_client_errors_fail_without_suppressing(self, twilio, ann):
        twilio.answer(400, error_body(21606, "The 'From' number is not a valid sender.", 400))
        message = queue_sms(ann)

        sweep()

        message.refresh_from_db()
        assert message.status == MessageStatus.FAILED
        assert "21606" in message.last_error
        assert not Suppression.objects.exists()


class TestLookup:
    """After a crash between the API call and the write, the dispatcher asks Twilio."""

    def uncertain(self, contact, handed_ago=timedelta(minutes=3)):
        message = queue_sms(contact)
        handed_at = timezone.now() - handed_ago
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.SENDING,
            handed_at=handed_at,
            locked_until=handed_at + timedelta(minutes=2),
            locked_by="dead-worker",
            attempts=1,
        )
        message.refresh_from_db()
        return message

    def listed(self, sid, created, **fields):
        return message_resource(sid=sid, date_created=format_datetime(created), **fields)

    def test_a_sid_recorded_by_a_status_callback_is_the_answer(self, twilio, ann):
        message = self.uncertain(ann)
        Message.objects.filter(pk=message.pk).update(provider_message_id="SMcallback")
        message.refresh_from_db()

        assert get_backend("sms").lookup(message) == "SMcallback"
        assert twilio.requests == []

    def test_finds_the_message_our_sender_created_after_the_hand_over(self, twilio, ann):
        message = self.uncertain(ann)
        other = queue_sms(ann, key="sms-2")
        Message.objects.filter(pk=other.pk).update(provider_message_id="SMtheirs")
        handed = message.handed_at
        page = [
            self.listed("SMreply", handed, direction="outbound-reply"),
            self.listed("SMtheirs", handed),
            self.listed("SMforeign", handed, **{"from": "+15005550001"}),
            self.listed("SMours", handed + timedelta(seconds=1)),
            self.listed("SMolder", handed - timedelta(hours=1)),
        ]
        twilio.answer(200, {"messages": page, "next_page_uri": None})

        assert get_backend("sms").lookup(message) == "SMours"
        [request] = twilio.requests
        assert (request.method, request.url) == ("GET", MESSAGES_URL)
        assert request.params == {"To": PHONE, "PageSize": 100}

    def test_nothing_found_means_it_never_reached_twilio(self, twilio, ann):
        message = self.uncertain(ann)
        page = [self.listed("SMolder", message.handed_at - timedelta(hours=1))]
        twilio.answer(200, {"messages": page, "next_page_uri": None})

        assert get_backend("sms").lookup(message) is None

    def test_a_found_message_is_recorded_as_sent_and_not_sent_again(self, twilio, ann):
        message = self.uncertain(ann)
        page = [self.listed("SMours", message.handed_at)]
        twilio.answer(200, {"messages": page, "next_page_uri": None})

        sweep()

        message.refresh_from_db()
        assert (message.status, message.provider_message_id) == (MessageStatus.SENT, "SMours")
        assert [r.method for r in twilio.requests] == ["GET"]

    def test_a_message_twilio_never_got_is_sent_once(self, twilio, ann):
        message = self.uncertain(ann)
        twilio.answer(200, {"messages": [], "next_page_uri": None})
        twilio.answer(201, message_resource(sid="SMfresh"))

        sweep()

        message.refresh_from_db()
        assert (message.status, message.provider_message_id) == (MessageStatus.SENT, "SMfresh")
        assert [r.method for r in twilio.requests] == ["GET", "POST"]
        assert DeliveryEvent.objects.filter(message=message, kind="sent").count() == 1
