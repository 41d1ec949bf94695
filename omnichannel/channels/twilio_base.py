"""What the Twilio SMS and WhatsApp backends share: client, request, errors, lookup.

Both channels go through Twilio's Messages API; they differ in the address format, the
sender and the content, which subclasses supply through ``recipient``, ``sender_fields``
and ``content``. Every message carries a ``ValidityPeriod``, so Twilio drops one that
waited too long in its queue (a cart nudge hours late is worse than none), and a status
callback URL naming the message (see ``omnichannel.webhooks.twilio``).
"""

from datetime import timedelta
from functools import cached_property

import requests

try:
    from twilio.base.exceptions import TwilioRestException
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client
except ImportError as exc:
    raise ImportError(
        "The Twilio backends need the twilio package: pip install django-omnichannel[twilio]"
    ) from exc

from ..conf import omnichannel_settings
from ..exceptions import PermanentSendError, TransientSendError, UncertainSendError
from ..models import Message
from .base import BaseChannelBackend, SendResult
from .providers.twilio import ADDRESS_FAILURES, reported_price, status_callback_url

# Without a timeout a stalled connection would hold a dispatcher worker indefinitely.
REQUEST_TIMEOUT_SECONDS = 10
# How many of the newest messages to a number ``lookup`` reads (one API page).
LOOKUP_DEPTH = 100
# Twilio's timestamps have whole seconds and its clock is not ours.
CLOCK_SKEW = timedelta(seconds=30)


class TwilioBackend(BaseChannelBackend):
    provider = "twilio"
    supports_lookup = True
    request_timeout = REQUEST_TIMEOUT_SECONDS

    def address(self, message):
        return message.contact.phone

    def recipient(self, address):
        """``address`` as Twilio's ``To`` expects it."""
        return address

    def sender_fields(self):
        """The sender as Messages API arguments: ``{"from_": ...}`` or a service SID."""
        raise NotImplementedError

    def content(self, message, rendered):
        """The body or template arguments of the request."""
        raise NotImplementedError

    def segments(self, response):
        """Billed segments of the accepted message, None where they do not apply."""
        return None

    def sender(self, message):
        return next(iter(self.sender_fields().values())) or ""

    @cached_property
    def client(self):
        return Client(
            omnichannel_settings.TWILIO_ACCOUNT_SID,
            omnichannel_settings.TWILIO_AUTH_TOKEN,
            http_client=self.http_client(),
        )

    def http_client(self):
        """The HTTP layer under Twilio's client; override to add a proxy or retries.

        ``TwilioHttpClient`` keeps one ``requests.Session`` (``pool_connections``) and the
        client is made once per backend, so its keep-alive connection to Twilio already
        carries every message of every batch: this backend needs no ``batch_session()`` of its
        own.
        """
        return TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)

    def build_payload(self, message, rendered):
        return {
            "to": self.recipient(message.to),
            **self.sender_fields(),
            **self.content(message, rendered),
            # Twilio's client leaves out None, so no PUBLIC_BASE_URL means no callback.
            "status_callback": status_callback_url(message),
            "validity_period": omnichannel_settings.TWILIO_VALIDITY_PERIOD,
        }

    def call_provider(self, payload, message):
        try:
            return self.client.messages.create(**payload)
        except TwilioRestException as exc:
            raise send_error(exc) from exc
        except requests.ReadTimeout as exc:  # sent, but Twilio's answer never came
            raise UncertainSendError(str(exc), provider=self.provider) from exc
        except OSError as exc:  # requests' connection errors are OSErrors
            raise TransientSendError(str(exc), provider=self.provider) from exc

    def parse_response(self, response, message):
        cost = reported_price(response.price)
        return SendResult(
            provider_message_id=response.sid,
            segments=self.segments(response),
            cost=cost,
            cost_currency=(response.price_unit or "").upper() if cost is not None else "",
            raw={
                "sid": response.sid,
                "status": response.status,
                "num_segments": response.num_segments,
                "price": response.price,
                "price_unit": response.price_unit,
            },
        )

    def lookup(self, message):
        """Twilio's SID for ``message`` if the message reached Twilio, else None.

        Twilio keeps no reference of ours on a message (the status callback URL with
        the message's UUID is not listed), so the answer is built from what is known:

        1. the SID a status callback already recorded on the message;
        2. else an API-sent message from our sender to the number, created since the
           hand-over, whose SID no other message of ours holds. From the hand-over to
           the end of the lease only this message was on its way there from us, so such
           a message is taken as this one: when in doubt the answer is "sent", because a
           missed nudge costs less than a text received twice.
        """
        if message.provider_message_id:
            return message.provider_message_id
        since = message.handed_at - CLOCK_SKEW
        sender = self.sender_fields()
        candidates = [
            found.sid
            for found in self.client.messages.stream(
                to=self.recipient(self.address(message)), limit=LOOKUP_DEPTH
            )
            if found.direction == "outbound-api"
            and found.date_created is not None
            and found.date_created >= since
            and all(getattr(found, field) == value for field, value in sender.items())
        ]
        taken = set(
            Message.objects.filter(provider_message_id__in=candidates).values_list(
                "provider_message_id", flat=True
            )
        )
        return next((sid for sid in candidates if sid not in taken), None)


def send_error(exc):
    """The dispatcher's view of a Messages API error: retry (429, 5xx) or fail.

    Twilio documents no ``Retry-After`` and its client keeps no response headers on
    errors, so a 429 waits for the dispatcher's backoff with jitter.
    """
    context = {"provider": "twilio", "status_code": exc.status, "code": exc.code}
    if exc.status == 429 or exc.status >= 500:
        return TransientSendError(exc.msg, **context)
    return PermanentSendError(exc.msg, suppress=ADDRESS_FAILURES.get(exc.code), **context)
