"""Web push: the request a push service receives, its answers, and the browser side.

No push service is faked in Python: pywebpush really encrypts, signs and POSTs, to an
HTTP server on 127.0.0.1 standing in for FCM or Mozilla, and the tests decrypt what it
received with the browser's keys.
"""

import ast
import base64
import json
import os
import re
import socket
import stat
import threading
from dataclasses import dataclass
from datetime import timedelta
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from py_vapid import Vapid
from py_vapid.utils import b64urlencode

from omnichannel.channels.webpush import MAX_PAYLOAD_BYTES, WebPushBackend, retry_after_seconds
from omnichannel.conf import omnichannel_settings
from omnichannel.core.tokens import PUSH_CLICK
from omnichannel.exceptions import PermanentSendError, TransientSendError
from omnichannel.models import DeliveryEvent, Message, PushSubscription
from omnichannel.models.messages import DeliveryEventKind, MessageStatus
from omnichannel.outbox.dispatch import sweep
from omnichannel.outbox.queueing import enqueue
from omnichannel.push.vapid import load_vapid, public_key
from omnichannel.testing.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_network")]

SUBJECT = "mailto:push@shop.example.com"
SHOP = "https://shop.example.com"


def generate_vapid_settings():
    vapid = Vapid()
    vapid.generate_keys()
    private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    return {"VAPID_PUBLIC_KEY": public_key(vapid), "VAPID_PRIVATE_KEY": b64urlencode(private)}


VAPID = generate_vapid_settings()


# --- the browser and its push service ----------------------------------------------------


@dataclass
class Received:
    path: str
    headers: HTTPMessage
    body: bytes


class PushService:
    """An HTTP server on 127.0.0.1 that records each POST and answers as told per path."""

    def __init__(self):
        self.received = []
        self.answers = {}  # path -> (status, headers)
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.received.append(Received(self.path, self.headers, body))
                status, headers = service.answers.get(
                    self.path, (201, {"Location": f"{service.origin}/m/{len(service.received)}"})
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def endpoint(self, name):
        return f"{self.origin}/push/{name}"

    def answer(self, name, status, headers=None):
        self.answers[f"/push/{name}"] = (status, headers or {})


class Browser:
    """A browser's push keys: what it gives ``PushManager.subscribe()``'s caller."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        point = self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        self.p256dh = b64urlencode(point)
        self.auth_b64 = b64urlencode(self.auth)

    def subscribe(self, contact, endpoint):
        return PushSubscription.objects.create(
            contact=contact, endpoint=endpoint, p256dh=self.p256dh, auth=self.auth_b64
        )

    def read(self, received):
        """The notification JSON, decrypted as the browser would."""
        plain = http_ece.decrypt(
            received.body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


@pytest.fixture
def push_service():
    service = PushService()
    service.thread.start()
    yield service
    service.server.shutdown()
    service.server.server_close()


@pytest.fixture
def push_settings(settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        **VAPID,
        "VAPID_SUBJECT": SUBJECT,
        "PUSH_TTL": 3600,
        "CHANNEL_BACKENDS": {"push": "omnichannel.channels.webpush.WebPushBackend"},
        "SEND_WINDOWS": {},
    }
    return settings.OMNICHANNEL


@pytest.fixture
def browser():
    return Browser()


def push_message(contact, content=None, **fields):
    content = content or {"title": "Your cart misses you", "body": "Still thinking?"}
    message, _ = enqueue(
        contact, "push", content, idempotency_key=f"test-{Message.objects.count()}", **fields
    )
    return message


def send(message, rendered=None):
    return WebPushBackend().send(message, rendered or message.content)


def vapid_claims(received, signer_key, audience):
    """The claims of ``Authorization: vapid t=<JWT>,k=<key>``, verified with ``signer_key``."""
    scheme, _, params = received.headers["Authorization"].partition(" ")
    parts = dict(param.split("=", 1) for param in params.split(","))
    assert (scheme, parts["k"]) == ("vapid", signer_key)
    point = base64.urlsafe_b64decode(signer_key + "=" * (-len(signer_key) % 4))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    return jwt.decode(parts["t"], key, algorithms=["ES256"], audience=audience)


# --- the request the push service receives -----------------------------------------------


@pytest.mark.usefixtures("push_settings")
class TestProviderRequest:
    def test_request_is_encrypted_signed_and_carries_the_ttl(self, push_service, browser, contact):
        browser.subscribe(contact, push_service.endpoint("a"))
        message = push_message(contact)
        rendered = {"title": "Tom & Jerry", "body": "<b>2 items</b>", "url": "/cart/",
                    "icon": "/static/icon.png"}  # fmt: skip

        result = send(message, rendered)

        [received] = push_service.received
        assert received.path == "/push/a"
        assert received.headers["TTL"] == "3600"
        assert received.headers["Content-Encoding"] == "aes128gcm"
        claims = vapid_claims(received, VAPID["VAPID_PUBLIC_KEY"], audience=push_service.origin)
        assert claims["sub"] == SUBJECT
        assert claims["exp"] > timezone.now().timestamp()
        notification = browser.read(received)
        token = notification.pop("token")
        assert notification == {
            "title": "Tom & Jerry",
            "body": "<b>2 items</b>",
            "icon": f"{SHOP}/static/icon.png",
            "url": f"{SHOP}/cart/",
            "message": str(message.uuid),
        }
        assert signing.TimestampSigner(salt=PUSH_CLICK.salt).unsign(token) == message.uuid.hex
        assert result.provider_message_id == f"{push_service.origin}/m/1"

    def test_without_url_the_notification_opens_the_shop(self, push_service, browser, contact):
        browser.subscribe(contact, push_service.endpoint("a"))
        send(push_message(contact, {"title": "Hello"}))
        notification = browser.read(push_service.received[0])
        assert (notification["url"], notification["body"], notification["icon"]) == (
            f"{SHOP}/",
            "",
            "",
        )

    def test_ttl_never_outlives_the_message(self, push_service, browser, contact):
        browser.subscribe(contact, push_service.endpoint("a"))
        send(push_message(contact, expires_at=timezone.now() + timedelta(minutes=10)))
        assert 590 <= int(push_service.received[0].headers["TTL"]) <= 600

    def test_every_browser_of_the_contact_gets_it(self, push_service, contact):
        phone, laptop = Browser(), Browser()
        phone.subscribe(contact, push_service.endpoint("phone"))
        laptop.subscribe(contact, push_service.endpoint("laptop"))
        ContactFactory().push_subscriptions.create(
            endpoint=push_service.endpoint("stranger"), p256dh=phone.p256dh, auth=phone.auth_b64
        )
        send(push_message(contact))
        by_path = {r.path: r for r in push_service.received}
        assert sorted(by_path) == ["/push/laptop", "/push/phone"]
        assert phone.read(by_path["/push/phone"])["title"] == "Your cart misses you"
        assert laptop.read(by_path["/push/laptop"])["title"] == "Your cart misses you"

    def test_largest_payload_fits_the_4096_byte_limit(self, push_service, browser, contact):
        browser.subscribe(contact, push_service.endpoint("a"))
        message = push_message(contact)
        backend = WebPushBackend()
        room = MAX_PAYLOAD_BYTES - len(backend.build_payload(message, {"title": "T"}))
        send(message, {"title": "T", "body": "x" * room})
        assert len(push_service.received[0].body) == 4096

    def test_too_big_a_payload_is_refused_before_sending(self, push_service, browser, contact):
        browser.subscribe(contact, push_service.endpoint("a"))
        with pytest.raises(PermanentSendError, match="bytes of JSON.*Shorten"):
            send(push_message(contact), {"title": "Sale", "body": "é" * 2000})
        assert push_service.received == []

    def test_content_without_title_is_refused(self, push_service, browser, contact):
        browser.subscribe(contact, push_service.endpoint("a"))
        with pytest.raises(PermanentSendError, match='no title: give the message a "title"'):
            send(push_message(contact), {"body": "Hi"})
        assert push_service.received == []


# --- what the push service answers -------------------------------------------------------


@pytest.mark.usefixtures("push_settings")
class TestAnswers:
    def test_gone_subscription_is_deleted_while_others_receive(self, push_service, contact):
        gone = Browser().subscribe(contact, push_service.endpoint("gone"))
        kept = Browser().subscribe(contact, push_service.endpoint("kept"))
        push_service.answer("gone", 410)
        result = send(push_message(contact))
        assert list(contact.push_subscriptions.all()) == [kept]
        outcomes = {b["subscription"]: (b["outcome"], b["status"]) for b in result.raw["browsers"]}
        assert outcomes == {gone.pk: ("gone", 410), kept.pk: ("accepted", 201)}

    def test_all_gone_fails_for_good_and_deletes_them(self, push_service, contact):
        Browser().subscribe(contact, push_service.endpoint("a"))
        Browser().subscribe(contact, push_service.endpoint("b"))
        push_service.answer("a", 404)
        push_service.answer("b", 410)
        with pytest.raises(PermanentSendError, match="has unsubscribed"):
            send(push_message(contact))
        assert not PushSubscription.objects.exists()

    def test_429_retries_after_the_delay_asked(self, push_service, browser, contact):
        browser.subscribe(contact, push_service.endpoint("a"))
        push_service.answer("a", 429, {"Retry-After": "120"})
        with pytest.raises(TransientSendError) as caught:
            send(push_message(contact))
        assert (caught.value.status_code, caught.value.retry_after) == (429, 120.0)
        assert PushSubscription.objects.count() == 1

    def test_server_error_retries(self, push_service, browser, contact):
        browser.subscribe(contact, push_service.endpoint("a"))
        push_service.answer("a", 503)
        with pytest.raises(TransientSendError) as caught:
            send(push_message(contact))
        assert caught.value.status_code == 503 and caught.value.retry_after is None

    def test_unreachable_service_retries(self, browser, contact):
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        browser.subscribe(contact, f"http://127.0.0.1:{port}/push/a")
        with pytest.raises(TransientSendError, match="unreachable"):
            send(push_message(contact))

    def test_a_busy_service_is_not_retried_when_another_browser_accepted(
        self, push_service, contact
    ):
        Browser().subscribe(contact, push_service.endpoint("busy"))
        Browser().subscribe(contact, push_service.endpoint("ok"))
        push_service.answer("busy", 429)
        result = send(push_message(contact))  # a retry would notify "ok" twice
        assert sorted(b["outcome"] for b in result.raw["browsers"]) == ["accepted", "retry"]

    def test_refused_subscription_fails_the_message_and_is_kept(
        self, push_service, browser, contact
    ):
        browser.subscribe(contact, push_service.endpoint("a"))
        push_service.answer("a", 403)
        with pytest.raises(PermanentSendError) as caught:
            send(push_message(contact))
        assert caught.value.status_code == 403
        assert PushSubscription.objects.count() == 1

    @pytest.mark.parametrize(
        ("header", "expected"),
        [("30", 30.0), ("-5", 0.0), ("soon", None), ("", None)],
    )
    def test_retry_after_in_seconds(self, header, expected):
        assert retry_after_seconds(header) == expected

    def test_retry_after_as_an_http_date(self):
        when = timezone.now() + timedelta(minutes=5)
        seconds = retry_after_seconds(when.strftime("%a, %d %b %Y %H:%M:%S GMT"))
        assert 290 <= seconds <= 300


# --- through the dispatcher --------------------------------------------------------------


@pytest.mark.usefixtures("push_settings")
class TestDispatch:
    def test_a_queued_push_is_sent_and_recorded(self, push_service, browser):
        contact = ContactFactory(first_name="Ann", consents=["push"])
        browser.subscribe(contact, push_service.endpoint("a"))
        message = push_message(contact, {"title": "Hi {{ contact.first_name }}", "url": "/cart/"})

        sweep()

        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert (message.to, message.provider) == (str(contact.uuid), "webpush")
        assert message.provider_message_id == f"{push_service.origin}/m/1"
        assert browser.read(push_service.received[0])["title"] == "Hi Ann"
        sent = message.events.get(kind=DeliveryEventKind.SENT)
        assert sent.raw["browsers"][0]["outcome"] == "accepted"

    def test_429_puts_the_message_back_until_retry_after(self, push_service, browser):
        contact = ContactFactory(consents=["push"])
        browser.subscribe(contact, push_service.endpoint("a"))
        push_service.answer("a", 429, {"Retry-After": "7200"})
        message = push_message(contact)

        sweep()

        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED
        assert message.scheduled_at >= timezone.now() + timedelta(seconds=7190)
        assert message.events.filter(kind=DeliveryEventKind.RETRY).exists()

    def test_dead_subscriptions_fail_the_message(self, push_service, browser):
        contact = ContactFactory(consents=["push"])
        browser.subscribe(contact, push_service.endpoint("a"))
        push_service.answer("a", 410)
        message = push_message(contact)

        sweep()

        message.refresh_from_db()
        assert message.status == MessageStatus.FAILED
        assert "has unsubscribed" in message.last_error
        assert not PushSubscription.objects.exists()

    def test_a_contact_without_subscription_is_not_sent_to(self, push_service):
        message = push_message(ContactFactory(consents=["push"]))
        sweep()
        message.refresh_from_db()
        assert message.status == MessageStatus.CANCELLED
        assert "no Web push address" in message.last_error
        assert push_service.received == []

    def test_missing_vapid_settings_fail_the_message_saying_what_to_set(
        self, push_service, browser, settings
    ):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "VAPID_PRIVATE_KEY": None}
        contact = ContactFactory(consents=["push"])
        browser.subscribe(contact, push_service.endpoint("a"))
        message = push_message(contact)

        sweep()

        message.refresh_from_db()
        assert message.status == MessageStatus.FAILED
        assert 'needs OMNICHANNEL["VAPID_PRIVATE_KEY"]' in message.last_error
        assert push_service.received == []


# --- VAPID keys --------------------------------------------------------------------------


class TestVapidKeysCommand:
    def test_output_is_usable_as_settings(self, settings, push_service, browser, contact):
        out, err = StringIO(), StringIO()
        call_command("omnichannel_vapid_keys", stdout=out, stderr=err)
        keys = ast.literal_eval("{" + out.getvalue() + "}")
        assert set(keys) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"}
        assert "VAPID_SUBJECT" in err.getvalue()
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            **keys,
            "VAPID_SUBJECT": SUBJECT,
            "CHANNEL_BACKENDS": {"push": "omnichannel.channels.webpush.WebPushBackend"},
        }
        browser.subscribe(contact, push_service.endpoint("a"))

        send(push_message(contact))

        received = push_service.received[0]
        claims = vapid_claims(received, keys["VAPID_PUBLIC_KEY"], audience=push_service.origin)
        assert claims["sub"] == SUBJECT

    def test_two_runs_give_two_pairs(self):
        first, second = StringIO(), StringIO()
        call_command("omnichannel_vapid_keys", stdout=first, stderr=StringIO())
        call_command("omnichannel_vapid_keys", stdout=second, stderr=StringIO())
        assert first.getvalue() != second.getvalue()

    def test_output_file_is_private_and_never_overwritten(self, tmp_path):
        target = tmp_path / "vapid.txt"
        out = StringIO()
        call_command("omnichannel_vapid_keys", output=str(target), stdout=out, stderr=StringIO())
        assert out.getvalue() == ""
        assert "VAPID_PRIVATE_KEY" in target.read_text()
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        with pytest.raises(CommandError, match="Cannot create"):
            call_command("omnichannel_vapid_keys", output=str(target), stderr=StringIO())


class TestLoadVapid:
    @pytest.mark.parametrize(
        ("override", "reason"),
        [
            ({"VAPID_SUBJECT": None}, 'needs OMNICHANNEL["VAPID_SUBJECT"]'),
            ({"VAPID_SUBJECT": "shop@example.com"}, "mailto:"),
            ({"VAPID_PRIVATE_KEY": "not-a-key"}, "not a base64url P-256 private key"),
            (
                {"VAPID_PUBLIC_KEY": generate_vapid_settings()["VAPID_PUBLIC_KEY"]},
                "not the public half",
            ),
        ],
    )
    def test_wrong_settings_say_what_to_fix(self, settings, override, reason):
        vapid = {**VAPID, "VAPID_SUBJECT": SUBJECT, **override}
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, **vapid}
        with pytest.raises(ImproperlyConfigured, match=re.escape(reason)):
            load_vapid()

    def test_good_settings_load(self, push_settings):
        assert public_key(load_vapid()) == omnichannel_settings.VAPID_PUBLIC_KEY


# --- the service worker ------------------------------------------------------------------


class TestServiceWorker:
    def test_served_as_javascript_allowed_at_the_root_scope(self, client):
        response = client.get(reverse("omnichannel:service_worker"))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/javascript; charset=utf-8"
        assert response["Service-Worker-Allowed"] == "/"
        assert response["Cache-Control"] == "no-cache"
        script = response.content.decode()
        assert f'const CLICKED_URL = "{reverse("omnichannel:push_clicked")}";' in script
        assert 'addEventListener("notificationclick"' in script

    def test_only_get(self, client):
        assert client.post(reverse("omnichannel:service_worker")).status_code == 405


# --- the subscription endpoints ----------------------------------------------------------

FCM = "https://fcm.googleapis.com/fcm/send/abc123"


def subscription_json(browser, endpoint=FCM):
    """What ``JSON.stringify(subscription)`` gives in the browser."""
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": browser.p256dh, "auth": browser.auth_b64},
    }


def post_json(client, name, data, **extra):
    return client.post(
        reverse(f"omnichannel:{name}"), json.dumps(data), content_type="application/json", **extra
    )


def remember(client, contact):
    session = client.session
    session[omnichannel_settings.SESSION_KEY] = {"contact": contact.pk, "verified": True}
    session.save()


class TestSubscribe:
    def test_stores_the_subscription_for_the_session_contact(self, client, browser, contact):
        remember(client, contact)
        response = post_json(
            client, "push_subscribe", subscription_json(browser), HTTP_USER_AGENT="Firefox/140"
        )
        assert response.status_code == 201
        assert response.json() == {"endpoint": FCM, "contact_known": True}
        stored = PushSubscription.objects.get()
        assert (stored.contact, stored.p256dh, stored.auth, stored.user_agent) == (
            contact,
            browser.p256dh,
            browser.auth_b64,
            "Firefox/140",
        )

    def test_the_same_endpoint_is_updated_not_duplicated(self, client, contact):
        remember(client, contact)
        post_json(client, "push_subscribe", subscription_json(Browser()))
        renewed = Browser()
        response = post_json(client, "push_subscribe", subscription_json(renewed))
        assert response.status_code == 200
        assert PushSubscription.objects.get().p256dh == renewed.p256dh

    def test_the_logged_in_users_contact(self, client, customer, browser):
        contact = ContactFactory(user=customer)
        client.force_login(customer)
        post_json(client, "push_subscribe", subscription_json(browser))
        assert PushSubscription.objects.get().contact == contact

    def test_anonymous_subscription_joins_the_contact_on_a_later_post(self, client, browser):
        response = post_json(client, "push_subscribe", subscription_json(browser))
        assert response.status_code == 201 and response.json()["contact_known"] is False
        assert PushSubscription.objects.get().contact is None
        contact = ContactFactory()
        remember(client, contact)
        post_json(client, "push_subscribe", subscription_json(browser))
        assert PushSubscription.objects.get().contact == contact

    def test_an_anonymous_post_keeps_the_known_contact(self, client, browser, contact):
        browser.subscribe(contact, FCM)
        post_json(client, "push_subscribe", subscription_json(browser))
        assert PushSubscription.objects.get().contact == contact

    def test_get_gives_the_public_key_to_subscribe_with(self, client, push_settings):
        response = client.get(reverse("omnichannel:push_subscribe"))
        assert response.json() == {"public_key": VAPID["VAPID_PUBLIC_KEY"]}

    def test_get_without_push_set_up_is_404_saying_why(self, client):
        response = client.get(reverse("omnichannel:push_subscribe"))
        assert response.status_code == 404
        assert "VAPID_PUBLIC_KEY" in response.json()["detail"]


def invalid_subscriptions():
    browser = Browser()
    good = subscription_json(browser)
    return {
        "no endpoint": ({"keys": good["keys"]}, {"endpoint": ["This field is required."]}),
        "no keys": ({"endpoint": FCM}, {"keys": ["This field is required."]}),
        "no auth": (
            {**good, "keys": {"p256dh": browser.p256dh}},
            {"keys": {"auth": ["This field is required."]}},
        ),
        "http endpoint": ({**good, "endpoint": "http://fcm.googleapis.com/x"}, "endpoint"),
        "not a push service": ({**good, "endpoint": "https://10.0.0.5/admin/"}, "endpoint"),
        "look-alike host": (
            {**good, "endpoint": "https://fcm.googleapis.com.evil.io/"},
            "endpoint",
        ),
        "short p256dh": ({**good, "keys": {**good["keys"], "p256dh": "BAAA"}}, "keys"),
        "auth not base64": ({**good, "keys": {**good["keys"], "auth": "é" * 22}}, "keys"),
        "keys not an object": ({**good, "keys": "p256dh"}, "keys"),
        "a list": ([good], "non_field_errors"),
    }


class TestSubscribeValidation:
    @pytest.mark.parametrize("case", list(invalid_subscriptions()))
    def test_invalid_subscription_is_400_saying_what_is_wrong(self, client, case):
        data, expected = invalid_subscriptions()[case]
        response = post_json(client, "push_subscribe", data)
        assert response.status_code == 400
        if isinstance(expected, dict):
            assert response.json() == expected
        else:
            assert expected in response.json()
        assert not PushSubscription.objects.exists()

    def test_push_service_error_messages_point_at_tojson(self, client, browser):
        data = {**subscription_json(browser), "endpoint": "http://fcm.googleapis.com/x"}
        [error] = post_json(client, "push_subscribe", data).json()["endpoint"]
        assert "send PushSubscription.toJSON().endpoint unchanged" in error

    def test_bad_json_is_400(self, client):
        response = client.post(
            reverse("omnichannel:push_subscribe"), "{not json", content_type="application/json"
        )
        assert response.status_code == 400
        assert "JSON parse error" in response.json()["detail"]

    def test_a_form_post_is_415(self, client, browser):
        response = client.post(reverse("omnichannel:push_subscribe"), {"endpoint": FCM})
        assert response.status_code == 415
        assert "Unsupported media type" in response.json()["detail"]

    def test_csrf_token_is_required_even_without_login(self, browser, contact):
        client = Client(enforce_csrf_checks=True)
        remember(client, contact)
        refused = post_json(client, "push_subscribe", subscription_json(browser))
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("CSRF Failed")
        # What the shop's JavaScript does: the csrftoken cookie's value in X-CSRFToken.
        client.cookies["csrftoken"] = "a" * 32
        accepted = post_json(
            client, "push_subscribe", subscription_json(browser), HTTP_X_CSRFTOKEN="a" * 32
        )
        assert accepted.status_code == 201


class TestUnsubscribe:
    def test_deletes_the_subscription_of_the_endpoint(self, client, browser, contact):
        browser.subscribe(contact, FCM)
        response = post_json(client, "push_unsubscribe", {"endpoint": FCM})
        assert response.status_code == 204
        assert not PushSubscription.objects.exists()

    def test_unknown_endpoint_is_404(self, client):
        response = post_json(client, "push_unsubscribe", {"endpoint": FCM})
        assert response.status_code == 404
        assert "already removed" in response.json()["detail"]

    def test_missing_endpoint_is_400(self, client):
        response = post_json(client, "push_unsubscribe", {})
        assert response.json() == {"endpoint": ["This field is required."]}


class TestClicked:
    def clicked(self, token):
        # The service worker has no cookies and no CSRF token.
        client = Client(enforce_csrf_checks=True)
        return post_json(client, "push_clicked", {"token": token})

    def token(self, message):
        return signing.TimestampSigner(salt=PUSH_CLICK.salt).sign(message.uuid.hex)

    def test_records_one_click_per_message(self, contact):
        message = push_message(contact)
        assert self.clicked(self.token(message)).status_code == 204
        assert self.clicked(self.token(message)).status_code == 204
        assert message.events.filter(kind=DeliveryEventKind.CLICKED).count() == 1

    def test_forged_token_is_400(self, contact):
        message = push_message(contact)
        response = self.clicked(message.uuid.hex + ":forged")
        assert response.status_code == 400
        assert "Invalid or expired token" in response.json()["token"][0]
        assert not DeliveryEvent.objects.filter(kind=DeliveryEventKind.CLICKED).exists()

    def test_token_of_a_deleted_message_is_404(self, contact):
        message = push_message(contact)
        token = self.token(message)
        message.delete()
        assert self.clicked(token).status_code == 404

    def test_token_from_the_payload_is_accepted(self, contact):
        message = push_message(contact)
        payload = json.loads(WebPushBackend().build_payload(message, {"title": "Hi"}))
        assert self.clicked(payload["token"]).status_code == 204
