"""Twilio's webhooks: message status callbacks, and SMS / WhatsApp messages customers send.

Both views act only on requests Twilio signed: ``X-Twilio-Signature`` is an HMAC of the
auth token over the exact URL Twilio called and the POST parameters. That URL is rebuilt
from ``PUBLIC_BASE_URL``, never from the Host header, because behind a proxy the host and
scheme Django sees are not the ones Twilio signed. A request that fails the check stores
nothing.

What Twilio *reports* (statuses, error codes, prices) is read in
``omnichannel.channels.providers.twilio``, shared with the API answers the backends get.
This module imports without the ``twilio`` package, an optional extra, because
``omnichannel.urls`` imports it in every shop.
"""

import logging
import uuid
from functools import wraps
from xml.sax.saxutils import escape

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..channels.providers.twilio import (
    ADDRESS_FAILURES,
    MESSAGE_PARAM,
    STATUS_REPORTS,
    WHATSAPP_PREFIX,
    phone_of,
    reported_int,
    reported_price,
)
from ..conf import omnichannel_settings
from ..contacts.consent import grant_consent, lift_suppression, suppress, withdraw_consent
from ..core.links import absolute_url
from ..integrations.adapter import get_adapter
from ..models import Contact, DeliveryEvent, InboundMessage, Message, SeenInboundMessage
from ..models.channels import Channel
from ..models.consent import SuppressionReason
from ..models.messages import DeliveryEventKind, MessageStatus
from ..outbox.queueing import cancel_pending
from ..outbox.rendering import language_of
from ..outbox.status import after_provider_report

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"

# Replies that are a keyword (the whole body, trimmed, any case) -> the keyword stored.
KEYWORDS = {
    **dict.fromkeys(
        ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"], "STOP"
    ),
    **dict.fromkeys(["START", "UNSTOP"], "START"),
    **dict.fromkeys(["HELP", "INFO"], "HELP"),
}


class MalformedWebhook(Exception):
    """A signed request without what the view needs: answered 400 with this text."""


# --- signed requests ---------------------------------------------------------------------


def signed_by_twilio(request):
    token = omnichannel_settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not (token and signature):
        return False
    url = absolute_url(request.get_full_path())
    if request_validator(token).validate(url, request.POST, signature):
        return True
    logger.warning(
        "omnichannel: rejected a Twilio webhook whose signature does not match %s; "
        'is OMNICHANNEL["PUBLIC_BASE_URL"] the address Twilio calls?',
        url,
    )
    return False


def request_validator(token):
    try:
        from twilio.request_validator import RequestValidator
    except ImportError as exc:
        raise ImproperlyConfigured(
            "Twilio webhooks need the twilio package: pip install django-omnichannel[twilio]"
        ) from exc
    return RequestValidator(token)


def twilio_webhook(view):
    """POST only, no CSRF token (Twilio has none), Twilio's signature required."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def checked(request):
        if not signed_by_twilio(request):
            return HttpResponseForbidden("Invalid Twilio signature.", content_type="text/plain")
        try:
            return view(request)
        except MalformedWebhook as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain")

    return checked


# --- status callbacks --------------------------------------------------------------------


@twilio_webhook
def status_callback(request):
    params = request.POST
    sid, twilio_status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not (sid and twilio_status):
        raise MalformedWebhook("MessageSid and MessageStatus are required.")
    report = STATUS_REPORTS.get(twilio_status)
    if report is not None:
        # One event per message and status, keyed on what the signature covers: Twilio's
        # I-Twilio-Idempotency-Token header is not signed, so a replay with a new one
        # would count as a new event.
        event_id = f"{sid}:{twilio_status}"
        record_status(params, report, event_id[:200], callback_message_uuid(request))
    return HttpResponse(status=204)


def callback_message_uuid(request):
    """The UUID our status callback URL carries, or None (a Messaging Service's own URL)."""
    value = request.GET.get(MESSAGE_PARAM)
    try:
        return uuid.UUID(value) if value else None
    except ValueError as exc:
        raise MalformedWebhook(f"{MESSAGE_PARAM!r} is not a message id.") from exc


def record_status(params, report, event_id, message_uuid):
    """Append the event once per ``event_id``; move the message forward, never back."""
    now = timezone.now()
    detail = failure_detail(params)
    with transaction.atomic():
        messages = Message.objects.select_for_update()
        if message_uuid:
            message = messages.filter(uuid=message_uuid).first()
        else:
            message = messages.filter(provider_message_id=params["MessageSid"]).first()
        if message is None:
            return  # not sent by this app (a shared Messaging Service callback)
        _, created = DeliveryEvent.objects.get_or_create(
            provider_event_id=event_id,
            defaults={
                "message": message,
                "kind": report.kind,
                "detail": detail,
                "raw": params.dict(),
                "occurred_at": now,
            },
        )
        if not created:
            return
        apply_status(message, report, params, detail, now)
        reason = ADDRESS_FAILURES.get(reported_int(params.get("ErrorCode")))
        if report.status == MessageStatus.FAILED and reason:
            address = phone_of(params.get("To", "")) or message.to
            suppress(message.channel, address, reason, contact=message.contact, detail=detail)


def failure_detail(params):
    code = reported_int(params.get("ErrorCode"))
    return f"Twilio error {code}: {params.get('MessageStatus')}" if code else ""


def apply_status(message, report, params, detail, now):
    if not message.provider_message_id:
        message.provider_message_id = params["MessageSid"][:128]
    # Callbacks arrive out of order, and may arrive before the send is recorded.
    if report.status and after_provider_report(message.status, report.status) != message.status:
        message.status = report.status
        if report.status == MessageStatus.DELIVERED:
            message.delivered_at = now
        elif report.status == MessageStatus.FAILED:
            message.last_error = detail or f"Twilio: {params['MessageStatus']}"
    if report.kind == DeliveryEventKind.READ and message.status == MessageStatus.DELIVERED:
        message.read_at = message.read_at or now
    # Twilio rarely knows the price at send time; a later callback may carry it.
    price = reported_price(params.get("Price"))
    if price is not None:
        message.cost, message.cost_currency = price, params.get("PriceUnit", "").upper()[:3]
    message.segments = reported_int(params.get("NumSegments")) or message.segments
    message.save(
        update_fields=[
            "provider_message_id", "status", "delivered_at", "read_at", "last_error", "cost",
            "cost_currency", "segments", "updated_at",
        ]
    )  # fmt: skip


# --- inbound messages --------------------------------------------------------------------


@twilio_webhook
def inbound_message(request):
    """Store the message once per MessageSid; act on STOP / START; answer HELP."""
    params = request.POST
    sid, sender = params.get("MessageSid", ""), params.get("From", "")
    if not (sid and sender):
        raise MalformedWebhook("MessageSid and From are required.")
    body = params.get("Body", "")
    keyword = KEYWORDS.get(body.strip().upper(), "")
    phone = phone_of(sender)
    contact = Contact.objects.filter(phone=phone).first()
    with transaction.atomic():
        # Whether this message was ever seen, also after retention purged its row: a
        # retried or replayed webhook stores and acts nothing (see SeenInboundMessage).
        _, first = SeenInboundMessage.objects.get_or_create(provider_message_id=sid[:128])
        if first:
            received = InboundMessage.objects.create(
                provider_message_id=sid[:128],
                channel=Channel.WHATSAPP if sender.startswith(WHATSAPP_PREFIX) else Channel.SMS,
                contact=contact,
                from_address=phone[:64],
                to_address=phone_of(params.get("To", ""))[:64],
                body=body,
                keyword=keyword,
                raw=params.dict(),
            )
            if keyword in KEYWORD_ACTIONS:
                KEYWORD_ACTIONS[keyword](received)
    # The HELP answer is repeated, since Twilio retries only when it did not get the first.
    return twiml(help_reply(contact) if keyword == "HELP" else "")


def opt_out(received):
    """STOP: into the consent ledger, onto the suppression list, out of the outbox.

    Twilio's Advanced Opt-Out may block the number on its side too; the ledger records
    the withdrawal either way, so it holds if the shop changes provider or sender.
    """
    channel, contact = received.channel, received.contact
    suppress(
        channel,
        received.from_address,
        SuppressionReason.STOP,
        contact=contact,
        detail=f"Replied {received.body.strip()!r}",
    )
    if contact is not None:
        withdraw_consent(contact, channel, source="STOP reply", wording=received.body)
        cancel_pending(contact=contact, channel=channel, reason="the contact replied STOP")


def opt_in(received):
    """START: the number may receive messages again, and the contact consents anew."""
    lift_suppression(received.channel, received.from_address)
    if received.contact is not None:
        grant_consent(
            received.contact, received.channel, source="START reply", wording=received.body
        )


KEYWORD_ACTIONS = {"STOP": opt_out, "START": opt_in}


def help_reply(sender=None):
    """``SMS_HELP_REPLY``, or the shop's name and contact, as carriers require of HELP;
    in the language of ``sender`` (the contact who wrote HELP) when the app knows it."""
    if omnichannel_settings.SMS_HELP_REPLY:
        return omnichannel_settings.SMS_HELP_REPLY
    shop = get_adapter().get_shop_context()
    name, contact = shop.get("name"), shop.get("support_email") or shop.get("url")
    locale = getattr(sender, "locale", "")
    with translation.override(language_of(locale) if locale else translation.get_language()):
        parts = [
            f"{name}:" if name else "",
            _("for help, contact %(contact)s.") % {"contact": contact} if contact else "",
            # Translators: STOP is the keyword carriers act on: keep it as it is.
            _("Reply STOP to unsubscribe."),
        ]
    return " ".join(part for part in parts if part)


def twiml(reply):
    """A TwiML answer: ``reply`` as a message back, or nothing to send."""
    message = f"<Message>{escape(reply)}</Message>" if reply else ""
    return HttpResponse(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>',
        content_type="text/xml",
    )
