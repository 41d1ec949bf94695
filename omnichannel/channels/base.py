"""The template method every channel backend follows.

``send()`` runs the same steps for every provider, so retry, suppression and recording
behave alike everywhere:

1. ``address(message)``: where to send (email, E.164 number, subscriptions), or None;
2. ``build_payload(message, rendered)``: the provider request;
3. ``call_provider(payload, message)``: the network call; the only step that does I/O;
4. ``parse_response(response, message)``: a ``SendResult``.

A backend maps the provider's failures to ``TransientSendError`` (retry with backoff)
or ``PermanentSendError`` (fail, maybe suppress) inside ``call_provider``.
"""

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class SendResult:
    """What the provider said about one accepted message."""

    provider_message_id: str = ""
    delivered: bool = False  # True for channels that deliver at once (inbox)
    segments: int | None = None
    cost: Decimal | None = None
    cost_currency: str = ""
    raw: dict = field(default_factory=dict)


class BaseChannelBackend:
    """Subclass and implement the four steps. ``channel`` and ``provider`` name it."""

    channel = ""
    provider = ""
    #: Whether ``lookup()`` can tell if a message reached the provider (see reconcile).
    supports_lookup = False
    #: The longest one provider request may take, in seconds: the client's own timeout.
    #: The dispatcher never looks up or re-sends a message before this (plus a grace) has
    #: passed since its hand-over, so it must be a true upper bound.
    request_timeout = 30

    def call_timeout(self, message):
        """The longest ``send(message)`` may take: one request, unless a backend makes more."""
        return self.request_timeout

    def address(self, message):
        """The recipient address for ``message``, or None when the contact has none."""
        raise NotImplementedError

    def send(self, message, rendered):
        """Send ``message`` with its ``rendered`` parts; return a ``SendResult``."""
        payload = self.build_payload(message, rendered)
        response = self.call_provider(payload, message)
        return self.parse_response(response, message)

    def build_payload(self, message, rendered):
        raise NotImplementedError

    def call_provider(self, payload, message):
        raise NotImplementedError

    def parse_response(self, response, message):
        return SendResult()

    def sender(self, message):
        """The sending identity rate limits apply to (a number); '' for none."""
        return ""

    def lookup(self, message):
        """After a crash mid-send: the provider's id if ``message`` reached it, else None.

        Only called when ``supports_lookup``; a backend that cannot tell leaves uncertain
        messages to staff rather than risk sending twice.
        """
        raise NotImplementedError
