"""One provider connection per batch: what each channel's server sees.

Every provider here is a real server on loopback (aiosmtpd for SMTP, an HTTP/1.1 server
for Postmark, a push service and Twilio's API) reached through the provider's real client
code, so the counts are TCP connections and SMTP sessions, not calls to a fake.
"""

import json
import socket
import uuid

import pytest
from anymail.backends.test import EmailBackend as AnymailTestBackend
from django.core import mail
from django.utils import timezone
from requests.adapters import HTTPAdapter

from omnichannel.channels.email import MESSAGE_HEADER
from omnichannel.models import Message
from omnichannel.models.messages import DeliveryEventKind, MessageStatus
from omnichannel.outbox import dispatch
from omnichannel.outbox.queueing import enqueue
from omnichannel.testing.factories import ContactFactory

from .keepalive_server import KeepAliveServer
from .smtp_server import SmtpServer
from .test_webpush import VAPID, Browser
from .twilio_fakes import TWILIO_SETTINGS, message_resource

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_network")]

CONTENT = {"subject": "Hello {{ contact.first_name }}", "text": "Your cart is waiting."}


def queue(channel, count, content=CONTENT, key=""):
    messages = []
    for i in range(count):
        phone = f"+3361234{len(key)}{i:03d}"
        contact = ContactFactory(first_name=f"C{i}", phone=phone, consents=[channel])
        message, _ = enqueue(contact, channel, content, idempotency_key=f"{channel}{key}-{i}")
        messages.append(message)
    return messages


def statuses(messages):
    return sorted(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status"))


@pytest.fixture
def smtp(settings):
    with SmtpServer() as server:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        yield server


def received_uuids(server):
    return [m[MESSAGE_HEADER] for m in server.recorder.messages]


# --- SMTP --------------------------------------------------------------------------------


class TestSmtp:
    def test_a_batch_of_emails_is_one_smtp_session(self, smtp):
        messages = queue("email", 5)

        report = dispatch.sweep()

        assert report.sent == 5
        assert smtp.recorder.sessions == 1
        assert sorted(received_uuids(smtp)) == sorted(str(m.uuid) for m in messages)

    def test_each_batch_has_its_own_session(self, smtp, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "DISPATCH_BATCH_SIZE": 2}
        queue("email", 5)

        report = dispatch.sweep()

        assert (report.sent, report.batches) == (5, 3)
        assert smtp.recorder.sessions == 3
        assert len(smtp.recorder.messages) == 5

    def test_a_dropped_connection_retries_that_message_and_reconnects(self, smtp):
        messages = queue("email", 5)
        smtp.recorder.drop = {3}

        report = dispatch.sweep()

        assert (report.sent, report.retried) == (4, 1)
        assert smtp.recorder.sessions == 2  # the one that dropped, then a new one
        [retried] = Message.objects.filter(status=MessageStatus.QUEUED)
        assert str(retried.uuid) not in received_uuids(smtp)
        assert retried.attempts == 1 and retried.last_error
        assert retried.events.filter(kind=DeliveryEventKind.RETRY).exists()

        # Its retry goes out once, on a session of its own; nothing was sent twice.
        Message.objects.filter(pk=retried.pk).update(scheduled_at=timezone.now())
        assert dispatch.sweep().sent == 1
        assert smtp.recorder.sessions == 3
        assert sorted(received_uuids(smtp)) == sorted(str(m.uuid) for m in messages)
        assert statuses(messages) == [(MessageStatus.SENT,)] * 5

    def test_a_server_that_refuses_connections_retries_the_message(self, settings):
        with socket.socket() as closed:  # a port nothing listens on
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
        messages = queue("email", 2)

        report = dispatch.sweep()

        assert (report.sent, report.retried) == (0, 2)
        for message in Message.objects.filter(pk__in=[m.pk for m in messages]):
            assert message.status == MessageStatus.QUEUED
            assert "refused" in message.last_error.lower()


# --- anymail -----------------------------------------------------------------------------


def test_anymail_sends_a_batch_through_one_open_connection(settings, monkeypatch):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    opened, closed = [], []
    real_open, real_close = AnymailTestBackend.open, AnymailTestBackend.close
    monkeypatch.setattr(
        AnymailTestBackend, "open", lambda self: opened.append(self) or real_open(self)
    )
    monkeypatch.setattr(
        AnymailTestBackend, "close", lambda self: closed.append(self) or real_close(self)
    )
    queue("email", 4)

    assert dispatch.sweep().sent == 4

    assert len(mail.outbox) == 4
    # anymail's send_messages() calls open() too, which does nothing on an open connection.
    assert len(set(opened)) == 1
    assert closed == opened[:1]


def postmark_answer(path, body):
    to = json.loads(body)["To"]
    return 200, {"To": to, "MessageID": str(uuid.uuid4()), "ErrorCode": 0, "Message": "OK"}


def test_an_anymail_esp_sends_a_batch_over_one_http_connection(settings):
    with KeepAliveServer(postmark_answer) as postmark:
        settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
        settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", "POSTMARK_API_URL": postmark.origin}
        messages = queue("email", 4)

        assert dispatch.sweep().sent == 4

    assert [path for path, _ in postmark.requests] == ["/email"] * 4
    assert postmark.connections == 1
    ids = set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list(
        "provider_message_id", flat=True
    ))  # fmt: skip
    assert len(ids) == 4 and "" not in ids


# --- web push ----------------------------------------------------------------------------


def test_push_sends_a_batch_over_one_connection_per_push_service(settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL, **VAPID, "VAPID_SUBJECT": "mailto:push@shop.example.com",
        "CHANNEL_BACKENDS": {"push": "omnichannel.channels.webpush.WebPushBackend"},
        "SEND_WINDOWS": {},
    }  # fmt: skip
    browser = Browser()
    with KeepAliveServer(lambda path, body: (201, {})) as service:
        contacts = [ContactFactory(consents=["push"]) for _ in range(3)]
        for i, contact in enumerate(contacts):
            browser.subscribe(contact, f"{service.origin}/push/{i}")
            enqueue(contact, "push", {"title": "Hi"}, idempotency_key=f"push-{i}")

        assert dispatch.sweep().sent == 3

    assert sorted(path for path, _ in service.requests) == ["/push/0", "/push/1", "/push/2"]
    assert service.connections == 1


# --- Twilio ------------------------------------------------------------------------------


def test_twilio_keeps_one_connection_across_batches(settings, monkeypatch):
    """Twilio's own client pools its connection, so the backend needs no batch_session()."""
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, **TWILIO_SETTINGS, "DISPATCH_BATCH_SIZE": 2}
    real_send = HTTPAdapter.send
    with KeepAliveServer(lambda path, body: (201, message_resource())) as twilio:

        def to_loopback(adapter, request, **kwargs):  # api.twilio.com, served here over HTTP
            request.url = request.url.replace("https://api.twilio.com", twilio.origin)
            return real_send(adapter, request, **kwargs)

        monkeypatch.setattr(HTTPAdapter, "send", to_loopback)
        queue("sms", 3, content={"text": "Hi"})
        assert dispatch.sweep().sent == 3  # two batches
        queue("sms", 1, content={"text": "Later"}, key="later")
        assert dispatch.sweep().sent == 1  # another sweep

    assert len(twilio.requests) == 4
    assert twilio.connections == 1
