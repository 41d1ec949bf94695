"""The template method every channel backend follows.

``send()`` runs the same steps for every provider, so retry, suppression and recording
behave alike everywhere:

1. ``address(message)``: where to send (email, E.164 number, subscriptions), or None;
2. ``build_payload(message, rendered)``: the provider request;
3. ``call_provider(payload, message)``: the network call; the only step that does I/O;
4. ``parse_response(response, message)``: a ``SendResult``.

A backend maps the provider's failures to ``TransientSendError`` (retry with backoff)
or ``PermanentSendError`` (fail, maybe suppress) inside ``call_provider``.

The dispatcher sends a batch's messages of one backend inside ``backend.batch_session()``, so
a backend whose provider call needs a connection (an SMTP session, an HTTP keep-alive
pool) opens one per batch rather than one per message (``SharedConnection``).
"""

import logging
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

logger = logging.getLogger(__name__)


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

    def batch_session(self):
        """A context manager around the sends of one batch that go through this backend.

        Inside it ``send()`` may keep one provider connection open from message to
        message. The default does nothing: a provider whose client already pools its
        connections, or that needs none, has nothing to keep.
        """
        return nullcontext()

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


class SharedConnection:
    """One provider connection for the sends inside a backend's ``batch_session()``.

    ``open_connection()`` makes an open connection, ``close_connection(connection)`` ends
    it. ``use()`` yields the connection for one provider call:

    * inside ``scope()`` the same one from call to call, opened at the first call, so an
      error while opening it fails that message like a send error would;
    * after a call that raised, the connection is closed and forgotten: a server that
      dropped it mid-batch costs that one message a retry, and the next call reconnects;
    * outside ``scope()`` a connection for that call alone.

    Backends are shared by the threads of a worker, so each thread has its own scope.
    """

    def __init__(self, open_connection, close_connection):
        self._open = open_connection
        self._close = close_connection
        self._local = threading.local()

    @contextmanager
    def scope(self):
        if getattr(self._local, "active", False):  # nested: the outer scope owns it
            yield
            return
        self._local.active, self._local.connection = True, None
        try:
            yield
        finally:
            self._local.active = False
            self.discard()

    @contextmanager
    def use(self):
        if not getattr(self._local, "active", False):
            connection = self._open()
            try:
                yield connection
            finally:
                self._close_quietly(connection)
            return
        try:
            if self._local.connection is None:
                self._local.connection = self._open()
            yield self._local.connection
        except BaseException:
            self.discard()
            raise

    def discard(self):
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            self._close_quietly(connection)

    def _close_quietly(self, connection):
        # The message's outcome is already known; a connection that will not close
        # cleanly (a server that went away) changes nothing about it.
        try:
            self._close(connection)
        except Exception as exc:
            logger.info("omnichannel: closing a provider connection failed: %s", exc)
