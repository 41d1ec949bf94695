"""anymail's tracking signal -> delivery events, suppression and consent.

anymail normalises every ESP's webhooks into ``AnymailTrackingEvent``; this receiver turns
them into our events. Hard bounces and spam complaints put the address on the suppression
list; a complaint or an ESP-side unsubscribe also withdraws marketing consent and cancels
what is waiting, so nobody who complained gets the next step of a flow.
"""

import json
import logging
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..contacts.consent import suppress, withdraw_consent
from ..core.normalize import normalize_email
from ..models import DeliveryEvent, Message
from ..models.consent import Purpose, SuppressionReason
from ..models.messages import DeliveryEventKind, MessageStatus
from ..outbox.queueing import cancel_pending
from ..outbox.status import after_provider_report

logger = logging.getLogger(__name__)

EVENT_KINDS = {
    "deferred": DeliveryEventKind.DEFERRED,
    "delivered": DeliveryEventKind.DELIVERED,
    "opened": DeliveryEventKind.OPENED,
    "clicked": DeliveryEventKind.CLICKED,
    "bounced": DeliveryEventKind.BOUNCED,
    "rejected": DeliveryEventKind.BOUNCED,
    "failed": DeliveryEventKind.FAILED,
    "complained": DeliveryEventKind.COMPLAINED,
    "unsubscribed": DeliveryEventKind.UNSUBSCRIBED,
}
SUPPRESSING = {
    "bounced": SuppressionReason.BOUNCE,
    "rejected": SuppressionReason.BOUNCE,
    "complained": SuppressionReason.COMPLAINT,
    "unsubscribed": SuppressionReason.UNSUBSCRIBE,
}
WITHDRAWING = {"complained", "unsubscribed"}
# Where an ESP's raw open event says a machine opened the message rather than the reader
# (anymail does not normalise it): ESP name -> the raw event's key that is true then.
MACHINE_OPEN_FLAGS = {"SendGrid": "sg_machine_open"}


def find_message(event):
    metadata = event.metadata or {}
    try:
        return Message.objects.select_related("contact").get(
            uuid=uuid.UUID(str(metadata["omnichannel_message"]))
        )
    except (KeyError, ValueError, Message.DoesNotExist):
        pass
    if event.message_id:
        return (
            Message.objects.select_related("contact")
            .filter(channel="email", provider_message_id=str(event.message_id))
            .first()
        )
    return None


def handle_tracking(sender, event, esp_name, **kwargs):
    """Receiver for ``anymail.signals.tracking``."""
    kind = EVENT_KINDS.get(event.event_type)
    if kind is None:
        return
    message = find_message(event)
    if message is None:
        logger.info("omnichannel: %s %s event for an unknown message", esp_name, event.event_type)
        return
    event_id = (
        event.event_id or f"{message.provider_message_id}:{event.event_type}:{event.timestamp}"
    )
    occurred_at = event.timestamp or timezone.now()
    detail = event.description or event.reject_reason or event.click_url or ""
    try:
        with transaction.atomic():
            DeliveryEvent.objects.create(
                message=message,
                kind=kind,
                detail=str(detail)[:2000],
                provider_event_id=f"{esp_name}:{event_id}"[:200],
                raw=_jsonable(event.esp_event),
                machine=kind == DeliveryEventKind.OPENED and is_machine_open(event, esp_name),
                occurred_at=occurred_at,
            )
    except IntegrityError:
        return  # the ESP delivered this webhook before
    apply_event(message, event, esp_name, occurred_at)


def is_machine_open(event, esp_name):
    """Whether the ESP flags the open as automatic (mail privacy proxies fetch every
    image on delivery), so the figures can tell those opens apart."""
    flag = MACHINE_OPEN_FLAGS.get(esp_name)
    return bool(flag and isinstance(event.esp_event, dict) and event.esp_event.get(flag))


# What an ESP event says became of the message.
REPORTED_STATUS = {
    "delivered": MessageStatus.DELIVERED,
    "bounced": MessageStatus.FAILED,
    "rejected": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
}


def apply_event(message, event, esp_name, occurred_at):
    reported = REPORTED_STATUS.get(event.event_type)
    if reported:
        record_report(message, reported, event.description or event.event_type, occurred_at)
    reason = SUPPRESSING.get(event.event_type)
    address = normalize_email(event.recipient) or message.to
    if reason and address:
        suppress(
            "email",
            address,
            reason,
            contact=message.contact,
            detail=f"{esp_name}: {event.event_type}",
        )
    if event.event_type in WITHDRAWING:
        source = f"{esp_name} {event.event_type}"
        withdraw_consent(message.contact, "email", source=source, wording="")
        cancel_pending(
            contact=message.contact,
            channel="email",
            reason=f"the contact {event.event_type} ({esp_name})",
            extra=Q(purpose=Purpose.MARKETING),
        )


def record_report(message, reported, detail, occurred_at):
    """Move the message on as the ESP reports, also when the report beats the dispatcher's
    own record of the send (it keeps what is written here)."""
    with transaction.atomic():
        current = Message.objects.select_for_update().filter(pk=message.pk)
        status = current.values_list("status", flat=True).first()
        if status is None or after_provider_report(status, reported) == status:
            return
        values = {"status": reported}
        if reported == MessageStatus.DELIVERED:
            values["delivered_at"] = occurred_at
        else:
            values["last_error"] = detail
        current.update(**values)


def _jsonable(payload):
    """The ESP's raw event as JSON (objects some ESPs hand over become strings)."""
    value = json.loads(json.dumps(payload, default=str))
    return value if isinstance(value, dict) else {"event": value}
