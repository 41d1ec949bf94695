"""The VAPID key pair web push is signed with, read and checked from the settings."""

from django.core.exceptions import ImproperlyConfigured

from ..conf import omnichannel_settings

try:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from py_vapid import Vapid
    from py_vapid.utils import b64urlencode
except ImportError as exc:
    raise ImportError("Web push needs pywebpush: pip install django-omnichannel[webpush]") from exc

VAPID_SETTINGS = ("VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT")


def load_vapid():
    """The VAPID signing key from the settings; raises ``ImproperlyConfigured`` saying why.

    Also checks that the public key is the private key's other half: browsers subscribe
    with the public key, and a mismatch makes every push service answer 403.
    """
    missing = [name for name in VAPID_SETTINGS if not getattr(omnichannel_settings, name)]
    if missing:
        names = ", ".join(f'OMNICHANNEL["{name}"]' for name in missing)
        raise ImproperlyConfigured(f"Web push needs {names}.")
    subject = omnichannel_settings.VAPID_SUBJECT
    if not ((subject.startswith("mailto:") and "@" in subject) or subject.startswith("https://")):
        raise ImproperlyConfigured(
            f'OMNICHANNEL["VAPID_SUBJECT"] is {subject!r}: push services want a "mailto:" '
            'address or an "https://" URL where they can reach the shop.'
        )
    try:
        vapid = Vapid.from_string(private_key=omnichannel_settings.VAPID_PRIVATE_KEY)
    except (ValueError, AttributeError) as exc:
        raise ImproperlyConfigured(
            f'OMNICHANNEL["VAPID_PRIVATE_KEY"] is not a base64url P-256 private key: {exc}'
        ) from exc
    if public_key(vapid) != omnichannel_settings.VAPID_PUBLIC_KEY.rstrip("="):
        raise ImproperlyConfigured(
            'OMNICHANNEL["VAPID_PUBLIC_KEY"] is not the public half of "VAPID_PRIVATE_KEY".'
        )
    return vapid


def public_key(vapid):
    """The public key as browsers take it (``applicationServerKey``): base64url, no padding."""
    point = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return b64urlencode(point)
