"""Email through Django's mail API and anymail: the message, the headers, the errors."""

import pytest
import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from anymail.signals import AnymailTrackingEvent, tracking
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from omnichannel.models import Consent, DeliveryEvent, Message, Suppression
from omnichannel.outbox import dispatch
from omnichannel.outbox import queueing as outbox
from omnichannel.testing.factories import ContactFactory

pytestmark = pytest.mark.django_db

CONTENT = {
    "subject": "Welcome, {{ contact.first_name }}",
    "preheader": "A gift inside",
    "text": "Hello {{ contact.first_name }}. Unsubscribe: {{ unsubscribe_url }}",
    "html": "<html><body><p>Hello {{ contact.first_name }}</p></body></html>",
}


@pytest.fixture
def ann():
    return ContactFactory(first_name="Ann & Co", consents=["email"])


def send(contact, purpose="marketing", key="k"):
    message, _ = outbox.enqueue(contact, "email", CONTENT, idempotency_key=key, purpose=purpose)
    dispatch.sweep()
    message.refresh_from_db()
    return message


def test_marketing_email_is_multipart_with_one_click_unsubscribe(ann):
    message = send(ann)
    assert message.status == "sent"
    [email] = mail.outbox
    assert email.to == [ann.email]
    assert email.subject == "Welcome, Ann & Co"
    assert email.body.startswith(
        "Hello Ann & Co. Unsubscribe: https://shop.example.com/omnichannel/"
    )
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert "<p>Hello Ann &amp; Co</p>" in html
    assert html.index("A gift inside") < html.index("Hello")
    assert email.extra_headers["X-Omnichannel-Message"] == str(message.uuid)
    unsubscribe = email.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://shop.example.com/omnichannel/unsubscribe/")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_transactional_email_has_no_unsubscribe_header(ann):
    send(ann, purpose="transactional")
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers


def test_anymail_gets_metadata_and_returns_the_esp_id(ann, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"TEST_SEND_DEFAULTS": {}}
    message = send(ann)
    [email] = mail.outbox
    assert email.anymail_test_params["metadata"] == {"omnichannel_message": str(message.uuid)}
    assert message.provider_message_id == str(email.anymail_status.message_id)


class FailingBackend(BaseEmailBackend):
    error = None

    def send_messages(self, messages):
        raise self.error


def api_error(text, status):
    response = requests.Response()
    response.status_code, response.reason = status, text
    return AnymailAPIError(text, status_code=status, response=response, esp_name="Postmark")


@pytest.mark.parametrize(
    ("error", "status", "suppressed"),
    [
        (api_error("rate limited", 429), "queued", False),
        (api_error("server error", 502), "queued", False),
        (api_error("bad from address", 422), "failed", False),
        (AnymailRecipientsRefused("all refused", esp_name="Postmark"), "failed", True),
        (ConnectionResetError("reset by peer"), "queued", False),
    ],
)
def test_esp_errors_map_to_retry_or_failure(ann, settings, error, status, suppressed):
    FailingBackend.error = error
    settings.EMAIL_BACKEND = "tests.test_email_channel.FailingBackend"
    message = send(ann)
    assert message.status == status
    assert Suppression.objects.filter(address=ann.email).exists() == suppressed


def track(message, event_type, event_id="ev-1", esp_name="Postmark", esp_event=None, **fields):
    event = AnymailTrackingEvent(
        event_type=event_type,
        event_id=event_id,
        message_id=message.provider_message_id,
        recipient=message.to,
        metadata={"omnichannel_message": str(message.uuid)},
        esp_event=esp_event or {"raw": event_type},
        **fields,
    )
    tracking.send(sender=object, event=event, esp_name=esp_name)


class TestTracking:
    def test_delivered_and_opened(self, ann):
        message = send(ann)
        track(message, "delivered", "ev-1")
        track(message, "opened", "ev-2")
        message.refresh_from_db()
        assert message.status == "delivered" and message.delivered_at
        assert list(message.events.values_list("kind", flat=True)) == [
            "sent",
            "delivered",
            "opened",
        ]

    def test_opens_the_esp_flags_as_automatic_are_marked_machine(self, ann):
        message = send(ann)
        automatic = {"event": "open", "sg_machine_open": True}
        track(message, "opened", "ev-1", esp_name="SendGrid", esp_event=automatic)
        track(message, "opened", "ev-2", esp_name="SendGrid", esp_event={"event": "open"})
        track(message, "opened", "ev-3")  # Postmark says nothing of the kind
        flags = message.events.filter(kind="opened").order_by("provider_event_id")
        assert list(flags.values_list("machine", flat=True)) == [False, True, False]

    def test_a_webhook_delivered_twice_records_once(self, ann):
        message = send(ann)
        track(message, "clicked", "same", click_url="https://shop.example.com/p/1")
        track(message, "clicked", "same", click_url="https://shop.example.com/p/1")
        assert DeliveryEvent.objects.filter(kind="clicked").count() == 1

    def test_hard_bounce_suppresses_the_address(self, ann):
        message = send(ann)
        track(message, "bounced", description="mailbox does not exist")
        message.refresh_from_db()
        assert message.status == "failed"
        assert Suppression.objects.get(address=ann.email).reason == "bounce"

    def test_complaint_suppresses_withdraws_and_cancels(self, ann):
        message = send(ann)
        waiting, _ = outbox.enqueue(ann, "email", CONTENT, idempotency_key="next-step")
        track(message, "complained")
        assert Suppression.objects.get(address=ann.email).reason == "complaint"
        assert Consent.objects.get(contact=ann, channel="email").status == "withdrawn"
        waiting.refresh_from_db()
        assert waiting.status == "cancelled"

    def test_events_for_unknown_messages_are_ignored(self, ann):
        ghost = Message(uuid="00000000-0000-0000-0000-000000000000", to="x@example.com")
        track(ghost, "delivered")
        assert not DeliveryEvent.objects.exists()
