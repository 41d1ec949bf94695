"""WhatsApp through Twilio.

WhatsApp lets a business write freely only inside the 24-hour service window that opens
each time the customer writes to it; outside, only templates Meta approved (Twilio:
``ContentSid`` plus ``ContentVariables``) may go. Rendered content keys:

* ``text``: free text, sent inside the window;
* ``content_sid`` and ``variables`` (a dict): the approved template, sent outside it,
  or inside it when there is no ``text``.

Opt-in is required: the dispatcher's policy only sends with marketing consent for the
channel.
"""

import json
from datetime import timedelta

from django.utils import timezone

from ..conf import omnichannel_settings
from ..exceptions import PermanentSendError
from ..models import InboundMessage
from ..models.channels import Channel
from .providers.twilio import whatsapp_address
from .twilio_base import TwilioBackend

SERVICE_WINDOW = timedelta(hours=24)
# Keep clear of the window's edge: a free text queued a few minutes at Twilio would reach
# WhatsApp after the window closed and fail there (error 63016).
WINDOW_MARGIN = timedelta(minutes=5)


class TwilioWhatsAppBackend(TwilioBackend):
    channel = "whatsapp"

    def recipient(self, address):
        return whatsapp_address(address)

    def sender_fields(self):
        return {"from_": whatsapp_address(omnichannel_settings.TWILIO_WHATSAPP_FROM)}

    def content(self, message, rendered):
        text, template = rendered.get("text"), rendered.get("content_sid")
        if text and in_service_window(message.to):
            return {"body": text}
        if template:
            return template_fields(template, rendered.get("variables"))
        if text:
            raise PermanentSendError(
                "WhatsApp needs an approved template outside the 24-hour window: "
                "give the message a content_sid.",
                provider=self.provider,
            )
        raise PermanentSendError(
            "Nothing to send: a WhatsApp message needs a text or a content_sid.",
            provider=self.provider,
        )


def template_fields(content_sid, variables):
    """``ContentSid``, and ``ContentVariables`` as the JSON of strings Twilio expects."""
    fields = {"content_sid": content_sid}
    if variables:
        fields["content_variables"] = json.dumps({str(k): str(v) for k, v in variables.items()})
    return fields


def in_service_window(phone):
    """Whether ``phone`` wrote to the shop on WhatsApp recently enough for free text."""
    opened_since = timezone.now() - (SERVICE_WINDOW - WINDOW_MARGIN)
    return InboundMessage.objects.filter(
        channel=Channel.WHATSAPP, from_address=phone, received_at__gte=opened_since
    ).exists()
