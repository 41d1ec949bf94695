"""WhatsApp through Twilio: free text inside the 24-hour window, approved templates outside."""

import json
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from omnichannel.channels import get_backend
from omnichannel.models import InboundMessage, Message
from omnichannel.models.messages import MessageStatus
from omnichannel.outbox.dispatch import sweep
from omnichannel.outbox.queueing import enqueue
from omnichannel.testing.factories import ContactFactory

from .twilio_fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    MESSAGES_URL,
    WHATSAPP_FROM,
    install,
    message_resource,
)

pytestmark = pytest.mark.django_db

PHONE = "+33612345678"
TEMPLATE_SID = "HX" + "c3" * 16


@pytest.fixture
def twilio(monkeypatch, settings):
    return install(monkeypatch, settings)


@pytest.fixture
def ann(db):
    return ContactFactory(first_name="Ann", phone=PHONE, consents=["whatsapp"])


def customer_wrote(phone, ago, channel="whatsapp"):
    inbound = InboundMessage.objects.create(
        provider_message_id=f"SM-in-{ago}-{channel}",
        channel=channel,
        from_address=phone,
        to_address=WHATSAPP_FROM,
        body="Is the blue mug back?",
    )
    InboundMessage.objects.filter(pk=inbound.pk).update(received_at=timezone.now() - ago)


def queue_whatsapp(contact, content):
    message, _ = enqueue(contact, "whatsapp", content, idempotency_key="wa-1")
    return message


BOTH = {
    "text": "Hi {{ contact.first_name }}, the blue mug is back.",
    "content_sid": TEMPLATE_SID,
    "variables": {"1": "Ann", "2": 10},
}


class TestServiceWindow:
    def test_inside_the_window_free_text_goes(self, twilio, ann):
        customer_wrote(PHONE, timedelta(hours=2))
        message = queue_whatsapp(ann, BOTH)

        assert sweep().sent == 1

        [request] = twilio.requests
        assert (request.method, request.url, request.auth) == (
            "POST",
            MESSAGES_URL,
            (ACCOUNT_SID, AUTH_TOKEN),
        )
        assert request.form == {
            "To": f"whatsapp:{PHONE}",
            "From": f"whatsapp:{WHATSAPP_FROM}",
            "Body": "Hi Ann, the blue mug is back.",
            "StatusCallback": "https://shop.example.com/omnichannel/webhooks/twilio/status/"
            f"?m={message.uuid}",
            "ValidityPeriod": "14400",
        }
        message.refresh_from_db()
        assert (message.status, message.segments) == (MessageStatus.SENT, None)

    def test_outside_the_window_the_template_goes(self, twilio, ann):
        message = queue_whatsapp(ann, BOTH)

        sweep()

        [request] = twilio.requests
        assert request.form == {
            "To": f"whatsapp:{PHONE}",
            "From": f"whatsapp:{WHATSAPP_FROM}",
            "ContentSid": TEMPLATE_SID,
            "ContentVariables": json.dumps({"1": "Ann", "2": "10"}),
            "StatusCallback": "https://shop.example.com/omnichannel/webhooks/twilio/status/"
            f"?m={message.uuid}",
            "ValidityPeriod": "14400",
        }

    def test_a_template_alone_goes_inside_the_window_too(self, twilio, ann):
        customer_wrote(PHONE, timedelta(hours=2))
        queue_whatsapp(ann, {"content_sid": TEMPLATE_SID})

        sweep()

        form = twilio.requests[0].form
        assert form["ContentSid"] == TEMPLATE_SID
        assert "Body" not in form
        assert "ContentVariables" not in form

    def test_free_text_outside_the_window_fails_without_calling_twilio(self, twilio, ann):
        message = queue_whatsapp(ann, {"text": "Hi there"})

        sweep()

        message.refresh_from_db()
        assert message.status == MessageStatus.FAILED
        assert "approved template outside the 24-hour window" in message.last_error
        assert twilio.requests == []

    @pytest.mark.parametrize(
        ("phone", "ago", "channel"),
        [
            (PHONE, timedelta(hours=23, minutes=58), "whatsapp"),  # too close to closing
            (PHONE, timedelta(hours=1), "sms"),  # an SMS opens no WhatsApp window
            ("+33698765432", timedelta(hours=1), "whatsapp"),  # someone else wrote
        ],
    )
    def test_what_does_not_open_the_window(self, twilio, ann, phone, ago, channel):
        customer_wrote(phone, ago, channel)
        queue_whatsapp(ann, BOTH)

        sweep()

        assert twilio.requests[0].form["ContentSid"] == TEMPLATE_SID


class TestSender:
    def test_a_prefixed_sender_setting_is_not_prefixed_twice(self, twilio, ann, settings):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "TWILIO_WHATSAPP_FROM": f"whatsapp:{WHATSAPP_FROM}",
        }
        message = queue_whatsapp(ann, BOTH)

        sweep()

        assert twilio.requests[0].form["From"] == f"whatsapp:{WHATSAPP_FROM}"
        assert get_backend("whatsapp").sender(message) == f"whatsapp:{WHATSAPP_FROM}"


class TestLookup:
    def test_matches_whatsapp_addresses(self, twilio, ann):
        message = queue_whatsapp(ann, BOTH)
        handed_at = timezone.now() - timedelta(minutes=3)
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.SENDING, handed_at=handed_at
        )
        message.refresh_from_db()
        created = format_datetime(handed_at)
        page = [
            message_resource(sid="SMsms", date_created=created, to=PHONE),
            message_resource(
                sid="SMwa",
                date_created=created,
                to=f"whatsapp:{PHONE}",
                **{"from": f"whatsapp:{WHATSAPP_FROM}"},
            ),
        ]
        twilio.answer(200, {"messages": page, "next_page_uri": None})

        assert get_backend("whatsapp").lookup(message) == "SMwa"
        assert twilio.requests[0].params == {"To": f"whatsapp:{PHONE}", "PageSize": 100}
