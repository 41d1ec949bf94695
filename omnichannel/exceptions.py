"""One exception tree, carrying what the provider said.

Backends raise ``TransientSendError`` (worth retrying: 429, 5xx, no connection),
``PermanentSendError`` (retrying cannot help: invalid number, unsubscribed recipient) or
``UncertainSendError`` (the request went out but no answer came back).
The dispatcher maps them to a retry with backoff or a failed message; ``suppress`` tells it
to put the address on the suppression list too.
"""


class OmnichannelError(Exception):
    """Base of every error the app raises on purpose."""


class ChannelNotConfigured(OmnichannelError):
    """A message was queued on a channel that has no backend in ``CHANNEL_BACKENDS``."""


class SendError(OmnichannelError):
    """A provider refused or failed a message."""

    def __init__(self, message, *, provider="", status_code=None, code=None, raw=None):
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code
        self.code = code
        self.raw = raw

    def describe(self):
        parts = [self.provider, str(self.status_code or ""), str(self.code or ""), str(self)]
        return " ".join(part for part in parts if part)


class TransientSendError(SendError):
    """Try again later. ``retry_after`` (seconds) is honoured when the provider gave one."""

    def __init__(self, message, *, retry_after=None, **context):
        super().__init__(message, **context)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Do not try again. With ``suppress``, the address goes on the suppression list."""

    def __init__(self, message, *, suppress=None, **context):
        super().__init__(message, **context)
        self.suppress = suppress  # a SuppressionReason value, or None


class UncertainSendError(SendError):
    """The request may have reached the provider (e.g. it timed out waiting for the answer).

    Retrying blindly could send twice; the dispatcher asks the backend's ``lookup`` at the
    next sweep instead, and only sends again if the provider does not have the message.
    """


class WebhookSignatureError(OmnichannelError):
    """A received webhook's signature header is missing, malformed, stale or wrong.

    Raised by ``omnichannel.outgoing.signing.verify_signature``; answer the request with a
    400 and do not act on its body.
    """
