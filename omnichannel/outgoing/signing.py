"""Signing outgoing webhooks, and the helper an integrator verifies them with.

The scheme is Stripe's: the header ``Omnichannel-Signature: t=<unix time>,v1=<hex>`` holds
the time of signing and the HMAC-SHA256, keyed with the endpoint's secret, of
``"<t>.<raw body>"``. Signing the time with the body lets the receiver refuse a replayed
request (``tolerance``). While a secret is being rotated the header carries one ``v1`` per
secret, and a receiver holding either one accepts it.

Verifying in the receiving Django view::

    from omnichannel.outgoing.signing import verify_signature
    from omnichannel.exceptions import WebhookSignatureError

    try:
        verify_signature(request.body, request.headers["Omnichannel-Signature"], SECRET)
    except (KeyError, WebhookSignatureError):
        return HttpResponseBadRequest()
"""

import hashlib
import hmac
import time

from ..exceptions import WebhookSignatureError

SIGNATURE_HEADER = "Omnichannel-Signature"
SCHEME = "v1"
#: Seconds a signature stays acceptable; older ones are refused as replays.
DEFAULT_TOLERANCE = 300


def signature(secret, timestamp, body):
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    signed = f"{int(timestamp)}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(body, secrets, timestamp=None):
    """The ``Omnichannel-Signature`` value for ``body`` (bytes), one ``v1`` per secret."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    parts = [f"t={timestamp}"] + [f"{SCHEME}={signature(s, timestamp, body)}" for s in secrets]
    return ",".join(parts)


def parse_header(header):
    """``(timestamp, [signatures])`` from a header value; raises WebhookSignatureError."""
    timestamp, signatures = None, []
    for item in (header or "").split(","):
        key, _sep, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError(
            f"The {SIGNATURE_HEADER} header must look like t=<unix time>,{SCHEME}=<hex>."
        )
    return timestamp, signatures


def verify_signature(body, header, secrets, *, tolerance=DEFAULT_TOLERANCE, now=None):
    """Check that ``header`` signs ``body`` (the raw bytes received) with one of ``secrets``.

    ``secrets`` is the endpoint's secret, or a list of them while you rotate. Returns the
    signing timestamp; raises ``WebhookSignatureError`` when the header is malformed, older
    (or newer) than ``tolerance`` seconds, or matches no secret. Every comparison takes
    constant time.
    """
    if isinstance(secrets, str):
        secrets = [secrets]
    if isinstance(body, str):
        body = body.encode()
    timestamp, received = parse_header(header)
    now = time.time() if now is None else now
    if tolerance is not None and abs(now - timestamp) > tolerance:
        raise WebhookSignatureError(
            f"The signature is {abs(now - timestamp):.0f} s off the current time; "
            f"more than {tolerance} s is refused as a possible replay."
        )
    expected = [signature(secret, timestamp, body) for secret in secrets if secret]
    # Every pair is compared, found or not, so the time taken says nothing about which.
    matches = [hmac.compare_digest(e, r) for e in expected for r in received]
    if not any(matches):
        raise WebhookSignatureError("The signature matches none of the secrets.")
    return timestamp
