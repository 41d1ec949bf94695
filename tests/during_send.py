"""A backend that lets a test act at the moment of a provider call.

The ``during_send`` fixture (tests/conftest.py) puts ``DuringSend`` on the email channel;
a test sets ``DuringSend.hook`` to run something inside the call: sleep like a slow
provider, let another worker take the rows over, place an order, deliver a webhook.
"""

from omnichannel.channels import locmem


class DuringSend(locmem.LocmemBackend):
    """The locmem backend, running ``DuringSend.hook(message)`` inside each provider call."""

    hook = None

    def call_provider(self, payload, message):
        hook = type(self).hook
        if hook is not None:
            hook(message)
        return super().call_provider(payload, message)


class NoLookup(DuringSend):
    """Like an SMTP server or an ESP: the provider cannot be asked what it received."""

    supports_lookup = False


class Killed(BaseException):
    """The worker process dies here (a BaseException, so nothing in our code catches it)."""
