"""SMS through Twilio.

The sender is a Messaging Service (``TWILIO_MESSAGING_SERVICE_SID``) when one is set,
else a number (``TWILIO_FROM_NUMBER``). ``sender()`` names it, so the dispatcher paces
sends per sender (``RATE_LIMITS["sms"]``, one segment a second for a US long code; for a
Messaging Service that pace is shared by its whole pool, which is conservative).
"""

from ..conf import omnichannel_settings
from .providers.twilio import reported_int
from .sms_segments import segments
from .twilio_base import TwilioBackend


class TwilioSmsBackend(TwilioBackend):
    channel = "sms"

    def sender_fields(self):
        service = omnichannel_settings.TWILIO_MESSAGING_SERVICE_SID
        if service:
            return {"messaging_service_sid": service}
        return {"from_": omnichannel_settings.TWILIO_FROM_NUMBER}

    def content(self, message, rendered):
        return {"body": rendered.get("text", "")}

    def segments(self, response):
        # A Messaging Service reports 0 segments until it has picked the sending number.
        return reported_int(response.num_segments) or segments(response.body or "")
