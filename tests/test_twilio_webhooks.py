"""Twilio's signed webhooks: status callbacks and inbound SMS / WhatsApp messages."""

from datetime import timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import timezone

from omnichannel.contacts.consent import suppress
from omnichannel.contacts.privacy.retention import purge_old_data
from omnichannel.models import (
    Consent,
    ConsentEvent,
    DeliveryEvent,
    InboundMessage,
    Message,
    SeenInboundMessage,
    Suppression,
)
from omnichannel.models.consent import ConsentStatus, SuppressionReason
from omnichannel.models.messages import DeliveryEventKind, MessageStatus
from omnichannel.outbox.queueing import enqueue
from omnichannel.testing.factories import ContactFactory

from .twilio_fakes import AUTH_TOKEN, FROM_NUMBER, install, signed_post

pytestmark = pytest.mark.django_db

PHONE = "+33612345678"
STATUS_PATH = reverse("omnichannel:twilio_status")
INBOUND_PATH = reverse("omnichannel:twilio_inbound")


@pytest.fixture(autouse=True)
def twilio(monkeypatch, settings):
    return install(monkeypatch, settings)


@pytest.fixture
def ann(db):
    return ContactFactory(first_name="Ann", phone=PHONE, consents=["sms", "email"])


def sent_message(contact, key="sms-1", channel="sms", sid="SM1"):
    message, _ = enqueue(contact, channel, {"text": "Hi"}, idempotency_key=key)
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, provider_message_id=sid, to=PHONE, sent_at=timezone.now()
    )
    message.refresh_from_db()
    return message


def report(client, message, status, *, token=None, by_sid=False, **params):
    path = STATUS_PATH if by_sid else f"{STATUS_PATH}?m={message.uuid}"
    headers = {"I-Twilio-Idempotency-Token": token} if token else None
    fields = {
        "MessageSid": message.provider_message_id,
        "MessageStatus": status,
        "To": PHONE,
        "From": FROM_NUMBER,
        **params,
    }
    return signed_post(client, path, fields, headers=headers)


def reply(client, body, *, sid="SMin1", sender=PHONE):
    return signed_post(
        client, INBOUND_PATH, {"MessageSid": sid, "From": sender, "To": FROM_NUMBER, "Body": body}
    )


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (DeliveryEvent, InboundMessage, ConsentEvent, Suppression)
    }


class TestSignature:
    @pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
    def test_a_wrong_or_missing_signature_is_403_and_stores_nothing(self, client, ann, path):
        message = sent_message(ann)
        params = {"MessageSid": "SM1", "MessageStatus": "delivered", "From": PHONE, "Body": "STOP"}
        before = counts()

        forged = client.post(f"{path}?m={message.uuid}", params, HTTP_X_TWILIO_SIGNATURE="bad=")
        unsigned = client.post(f"{path}?m={message.uuid}", params)

        assert (forged.status_code, unsigned.status_code) == (403, 403)
        assert counts() == before
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert Consent.objects.get(contact=ann, channel="sms").status == ConsentStatus.GRANTED

    def test_the_url_is_the_public_one_not_the_host_django_sees(self, client, ann):
        # Behind a proxy Django sees http://testserver; Twilio signed the public https URL.
        as_seen_here = f"http://testserver{INBOUND_PATH}"
        response = signed_post(
            client, INBOUND_PATH, {"MessageSid": "SM9", "From": PHONE}, url=as_seen_here
        )
        assert response.status_code == 403
        assert not InboundMessage.objects.exists()

    def test_a_changed_parameter_breaks_the_signature(self, client, ann):
        from twilio.request_validator import RequestValidator

        params = {"MessageSid": "SMin1", "From": PHONE, "Body": "hello"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            f"https://shop.example.com{INBOUND_PATH}", params
        )
        response = client.post(
            INBOUND_PATH, {**params, "Body": "STOP"}, HTTP_X_TWILIO_SIGNATURE=signature
        )
        assert response.status_code == 403

    @pytest.mark.parametrize("path", [STATUS_PATH, INBOUND_PATH])
    def test_only_post(self, client, path):
        assert client.get(path).status_code == 405

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            (STATUS_PATH, {"MessageSid": "SM1"}),
            (f"{STATUS_PATH}?m=not-a-uuid", {"MessageSid": "SM1", "MessageStatus": "sent"}),
            (INBOUND_PATH, {"Body": "hello"}),
        ],
    )
    def test_malformed_but_signed_is_400(self, client, path, params):
        before = counts()
        response = signed_post(client, path, params)
        assert response.status_code == 400
        assert response.content
        assert counts() == before


class TestStatusCallback:
    def test_delivered_moves_the_message_and_records_the_event(self, client, ann):
        message = sent_message(ann)

        response = report(client, message, "delivered", token="tok-1")

        assert response.status_code == 204
        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED
        assert message.delivered_at is not None
        event = message.events.get()
        assert (event.kind, event.provider_event_id) == (
            DeliveryEventKind.DELIVERED,
            "SM1:delivered",
        )
        assert event.raw["MessageStatus"] == "delivered"

    def test_a_retried_callback_records_once(self, client, ann):
        message = sent_message(ann)
        report(client, message, "delivered", token="tok-1")
        report(client, message, "delivered", token="tok-1")
        assert message.events.count() == 1

    def test_a_replay_with_a_new_idempotency_token_adds_nothing(self, client, ann):
        """The token header is not signed: anyone holding a signed callback can change it."""
        message = sent_message(ann)
        for token in ("tok-1", "tok-2", "tok-3"):
            assert report(client, message, "delivered", token=token).status_code == 204
        assert message.events.count() == 1

    def test_without_a_token_the_sid_and_status_deduplicate(self, client, ann):
        message = sent_message(ann)
        report(client, message, "sent")
        report(client, message, "sent")
        assert list(message.events.values_list("provider_event_id", flat=True)) == ["SM1:sent"]

    def test_a_late_sent_never_moves_a_delivered_message_back(self, client, ann):
        message = sent_message(ann)
        report(client, message, "delivered", token="tok-1")
        report(client, message, "sent", token="tok-2")

        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED
        assert message.events.count() == 2  # the history keeps both

    def test_read_implies_delivered(self, client, ann):
        message = sent_message(ann, channel="whatsapp")
        report(client, message, "read", token="tok-1")
        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED
        assert message.delivered_at is not None and message.read_at is not None

    def test_found_by_sid_when_the_url_names_no_message(self, client, ann):
        message = sent_message(ann)
        report(client, message, "delivered", by_sid=True)
        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED

    def test_a_callback_before_the_dispatcher_wrote_records_the_sid(self, client, ann):
        message = sent_message(ann, sid="")
        Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING)

        report(client, message, "sent", MessageSid="SMearly")

        message.refresh_from_db()
        assert (message.status, message.provider_message_id) == (MessageStatus.SENT, "SMearly")

    def test_an_unknown_message_is_acknowledged_and_ignored(self, client, ann):
        message = sent_message(ann)
        response = report(client, message, "delivered", by_sid=True, MessageSid="SMother")
        assert response.status_code == 204
        assert not DeliveryEvent.objects.exists()

    def test_price_and_segments_are_recorded(self, client, ann):
        message = sent_message(ann)
        report(client, message, "sent", Price="-0.00750", PriceUnit="USD", NumSegments="2")
        message.refresh_from_db()
        assert (message.cost, message.cost_currency, message.segments) == (
            Decimal("0.00750"),
            "USD",
            2,
        )

    @pytest.mark.parametrize(
        ("status", "code", "reason"),
        [
            ("undelivered", "30006", SuppressionReason.INVALID),
            ("failed", "21610", SuppressionReason.STOP),
            ("undelivered", "30003", None),  # a phone switched off works again tomorrow
            ("undelivered", "30007", None),  # the carrier filtered the content
        ],
    )
    def test_failures_fail_the_message_and_suppress_dead_numbers(
        self, client, ann, status, code, reason
    ):
        message = sent_message(ann)

        report(client, message, status, token="tok-1", ErrorCode=code)

        message.refresh_from_db()
        assert message.status == MessageStatus.FAILED
        assert code in message.last_error
        event = message.events.get()
        assert code in event.detail
        suppressed = Suppression.objects.filter(channel="sms", address=PHONE)
        assert list(suppressed.values_list("reason", flat=True)) == ([reason] if reason else [])


class TestInbound:
    def test_a_reply_is_stored_on_the_contact(self, client, ann):
        response = reply(client, "Is the blue mug back?")

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/xml")
        assert b"<Response></Response>" in response.content
        inbound = InboundMessage.objects.get()
        assert (inbound.contact, inbound.channel, inbound.from_address, inbound.keyword) == (
            ann,
            "sms",
            PHONE,
            "",
        )
        assert inbound.body == "Is the blue mug back?"

    def test_whatsapp_is_told_by_the_prefix(self, client, ann):
        reply(client, "Hello", sender=f"whatsapp:{PHONE}")
        inbound = InboundMessage.objects.get()
        assert (inbound.channel, inbound.from_address, inbound.contact) == ("whatsapp", PHONE, ann)

    def test_a_retried_webhook_is_stored_once(self, client, ann):
        reply(client, "Hello")
        reply(client, "Hello")
        assert InboundMessage.objects.count() == 1

    def test_an_unknown_number_is_stored_without_a_contact(self, client):
        reply(client, "Hello", sender="+33698765432")
        assert InboundMessage.objects.get().contact is None

    @pytest.mark.parametrize(
        "body",
        ["STOP", " stop ", "StopAll", "UNSUBSCRIBE", "cancel", "END", "quit", "REVOKE", "OptOut"],
    )
    def test_stop_words_withdraw_suppress_and_cancel(self, client, ann, body):
        pending_sms, _ = enqueue(ann, "sms", {"text": "Hi"}, idempotency_key="sms-pending")
        pending_email, _ = enqueue(ann, "email", {"subject": "Hi"}, idempotency_key="email-1")

        reply(client, body)

        assert InboundMessage.objects.get().keyword == "STOP"
        consent = Consent.objects.get(contact=ann, channel="sms")
        assert consent.status == ConsentStatus.WITHDRAWN
        event = ConsentEvent.objects.filter(contact=ann, channel="sms").first()
        assert (event.status, event.source, event.wording) == (
            ConsentStatus.WITHDRAWN,
            "STOP reply",
            body,
        )
        assert Suppression.objects.get(channel="sms", address=PHONE).reason == "stop"
        pending_sms.refresh_from_db()
        pending_email.refresh_from_db()
        assert pending_sms.status == MessageStatus.CANCELLED
        assert pending_email.status == MessageStatus.QUEUED
        assert Consent.objects.get(contact=ann, channel="email").is_granted

    def test_a_retried_stop_acts_once(self, client, ann):
        reply(client, "STOP")
        reply(client, "STOP")
        assert ConsentEvent.objects.filter(contact=ann, source="STOP reply").count() == 1

    def test_stop_on_whatsapp_leaves_sms_alone(self, client, ann):
        reply(client, "STOP", sender=f"whatsapp:{PHONE}")
        assert list(Suppression.objects.values_list("channel", flat=True)) == ["whatsapp"]
        assert Consent.objects.get(contact=ann, channel="sms").is_granted

    def test_a_start_replayed_after_the_purge_never_lifts_a_later_stop(self, client, ann):
        reply(client, "START", sid="SMstart")
        reply(client, "STOP", sid="SMstop")
        # Retention deletes the replies (here: as if their 730 days had passed).
        purge_old_data(now=timezone.now() + timedelta(days=800))
        assert not InboundMessage.objects.exists()

        assert reply(client, "START", sid="SMstart").status_code == 200

        assert Consent.objects.get(contact=ann, channel="sms").status == ConsentStatus.WITHDRAWN
        assert Suppression.objects.filter(channel="sms", address=PHONE).exists()
        assert not InboundMessage.objects.exists()
        assert ConsentEvent.objects.filter(contact=ann, source="START reply").count() == 1

    def test_a_replayed_help_is_answered_again(self, client, ann):
        first = reply(client, "HELP", sid="SMhelp")
        again = reply(client, "HELP", sid="SMhelp")
        assert again.content == first.content and b"<Message>" in again.content
        assert InboundMessage.objects.count() == 1

    def test_the_ids_stored_before_the_upgrade_count_as_seen(self, client, ann):
        reply(client, "START", sid="SMold")
        reply(client, "STOP", sid="SMnew")
        SeenInboundMessage.objects.all().delete()  # as before migration 0006

        import_module("omnichannel.migrations.0007_inbound_message_ids_kept").remember_stored_ids(
            django_apps, None
        )
        InboundMessage.objects.all().delete()
        reply(client, "START", sid="SMold")

        assert set(SeenInboundMessage.objects.values_list("pk", flat=True)) == {"SMold", "SMnew"}
        assert Suppression.objects.filter(channel="sms", address=PHONE).exists()

    def test_a_stop_from_an_unknown_number_still_suppresses_it(self, client):
        reply(client, "STOP", sender="+33698765432")
        assert Suppression.objects.filter(channel="sms", address="+33698765432").exists()

    @pytest.mark.parametrize("body", ["START", "unstop"])
    def test_start_resubscribes(self, client, ann, body):
        reply(client, "STOP", sid="SMin1")
        reply(client, body, sid="SMin2")

        assert not Suppression.objects.exists()
        consent = Consent.objects.get(contact=ann, channel="sms")
        assert consent.status == ConsentStatus.GRANTED
        assert (consent.source, consent.wording) == ("START reply", body)

    def test_start_lifts_any_suppression_of_the_number(self, client, ann):
        suppress("sms", PHONE, SuppressionReason.INVALID)
        reply(client, "START")
        assert not Suppression.objects.exists()

    def test_help_answers_with_the_shop_name_and_contact(self, client, ann):
        response = reply(client, "help")

        assert response.content.decode().endswith(
            "<Response><Message>Sample Shop: for help, contact support@example.com. "
            "Reply STOP to unsubscribe.</Message></Response>"
        )
        assert InboundMessage.objects.get().keyword == "HELP"

    def test_the_help_reply_can_be_set_and_is_escaped(self, client, ann, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "SMS_HELP_REPLY": "Tom & Jerry <help>"}
        response = reply(client, "HELP")
        assert b"<Message>Tom &amp; Jerry &lt;help&gt;</Message>" in response.content
