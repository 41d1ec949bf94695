"""What Twilio reports, read in one place: error codes, statuses, prices, addresses.

The Twilio backends (``channels/twilio_*.py``) read the Messages API's answers with it and
the webhooks (``webhooks/twilio.py``) read status callbacks and inbound messages with it,
so both understand Twilio alike. Imports without the ``twilio`` package.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.urls import reverse

from ...conf import omnichannel_settings
from ...core.links import absolute_url
from ...core.normalize import normalize_phone
from ...models.consent import SuppressionReason
from ...models.messages import DeliveryEventKind, MessageStatus

# The status callback URL names its message: ?m=<uuid>. Twilio signs the whole URL, so
# the parameter cannot be forged, and the callback finds its message even before the
# dispatcher has recorded Twilio's SID.
MESSAGE_PARAM = "m"
WHATSAPP_PREFIX = "whatsapp:"

# Twilio error codes after which another message to the number is pointless.
ADDRESS_FAILURES = {
    21211: SuppressionReason.INVALID,  # 'To' is not a valid phone number
    21612: SuppressionReason.INVALID,  # 'To' cannot be reached from this sender
    21614: SuppressionReason.INVALID,  # 'To' is not a mobile number
    21635: SuppressionReason.INVALID,  # 'To' is a landline
    30005: SuppressionReason.INVALID,  # unknown or inactive handset
    30006: SuppressionReason.INVALID,  # landline or unreachable carrier
    63003: SuppressionReason.INVALID,  # the number has no WhatsApp account
    63024: SuppressionReason.INVALID,  # not a valid WhatsApp recipient
    21610: SuppressionReason.STOP,  # the recipient texted STOP to this sender
    63014: SuppressionReason.STOP,  # the recipient blocked the business on WhatsApp
}
# Not suppressed, because the number may work tomorrow: 30003 (handset off or out of
# coverage), 30004 (blocked, for reasons Twilio does not give), 30007 (the carrier
# filtered the content, not the number).


@dataclass(frozen=True)
class StatusReport:
    """What a Twilio message status means here: the event, and the state it moves to."""

    kind: str
    status: str | None = None


STATUS_REPORTS = {
    "accepted": StatusReport(DeliveryEventKind.QUEUED),
    "scheduled": StatusReport(DeliveryEventKind.QUEUED),
    "queued": StatusReport(DeliveryEventKind.QUEUED),
    "sending": StatusReport(DeliveryEventKind.QUEUED),
    "sent": StatusReport(DeliveryEventKind.SENT, MessageStatus.SENT),
    "delivered": StatusReport(DeliveryEventKind.DELIVERED, MessageStatus.DELIVERED),
    "read": StatusReport(DeliveryEventKind.READ, MessageStatus.DELIVERED),
    "undelivered": StatusReport(DeliveryEventKind.UNDELIVERED, MessageStatus.FAILED),
    "failed": StatusReport(DeliveryEventKind.FAILED, MessageStatus.FAILED),
}


def reported_int(value):
    """An integer Twilio sent as text (ErrorCode, NumSegments), or None."""
    return int(value) if value and str(value).isdigit() else None


def reported_price(value):
    """The cost of a message, or None; Twilio gives it negative (money leaving the account).

    Tolerant on purpose: it also reads API answers, where a parsing error after the
    message left would look like a failed send and be retried.
    """
    try:
        return abs(Decimal(value)) if value else None
    except (InvalidOperation, TypeError):
        return None


def whatsapp_address(number):
    return WHATSAPP_PREFIX + number.removeprefix(WHATSAPP_PREFIX)


def phone_of(address):
    """The E.164 number in a Twilio address (``whatsapp:+33612345678`` -> ``+33612345678``)."""
    number = address.removeprefix(WHATSAPP_PREFIX)
    try:
        return normalize_phone(number) or number
    except ValidationError:
        return number


def status_callback_url(message):
    """Where Twilio reports on ``message``; None without ``PUBLIC_BASE_URL`` (Twilio needs
    an absolute URL)."""
    if not omnichannel_settings.PUBLIC_BASE_URL:
        return None
    query = urlencode({MESSAGE_PARAM: message.uuid})
    return absolute_url(f"{reverse('omnichannel:twilio_status')}?{query}")
