"""Absolute URLs and the signed tokens that links carry.

Tokens are signed (``TimestampSigner``, one salt per purpose) over UUIDs, never
sequential ids, so a link reveals nothing and cannot be forged or pointed at someone else.
"""

from functools import lru_cache
from urllib.parse import urljoin

from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse

from ..conf import omnichannel_settings

UNSUBSCRIBE_SALT = "omnichannel.unsubscribe"


def absolute_url(path):
    """``path`` on ``PUBLIC_BASE_URL`` (unchanged when already absolute or no base is set)."""
    base = omnichannel_settings.PUBLIC_BASE_URL
    return urljoin(base.rstrip("/") + "/", path.lstrip("/")) if base else path


def unsubscribe_token(contact, channel):
    return signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).sign_object(
        {"c": contact.uuid.hex, "ch": channel}, compress=True
    )


def read_unsubscribe_token(token):
    """``(contact_uuid_hex, channel)`` from a token; raises ``signing.BadSignature``."""
    max_age = omnichannel_settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS * 86400
    data = signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).unsign_object(token, max_age=max_age)
    return data["c"], data["ch"]


def unsubscribe_url(contact, channel):
    """The one-click link (RFC 8058 POST target and the page a person lands on)."""
    return token_url("omnichannel:unsubscribe", unsubscribe_token(contact, channel))


TOKEN_PLACEHOLDER = "0omnichanneltoken0"


def token_url(view_name, token):
    """The absolute URL of ``view_name`` taking one token argument.

    ``reverse()`` costs more than the rest of a message's links together; the dispatcher
    builds these for every message, so the route is reversed once and the token swapped in.
    """
    base = omnichannel_settings.PUBLIC_BASE_URL
    template = _absolute_route(view_name, get_script_prefix(), get_urlconf(), base)
    return template.replace(TOKEN_PLACEHOLDER, token)


@lru_cache(maxsize=32)
def _absolute_route(view_name, script_prefix, urlconf, base):
    return absolute_url(reverse(view_name, args=[TOKEN_PLACEHOLDER], urlconf=urlconf))


RESTORE_SALT = "omnichannel.cart-restore"


def restore_token(cart, message=None):
    """The token of a cart restore link: the cart's UUID and the message that carried it."""
    payload = {"c": cart.uuid.hex, "m": message.uuid.hex if message is not None else ""}
    return signing.TimestampSigner(salt=RESTORE_SALT).sign_object(payload, compress=True)


def read_restore_token(token):
    """``(cart_uuid_hex, message_uuid_hex)``; raises ``signing.BadSignature`` (expired too)."""
    max_age = omnichannel_settings.CART_RESTORE_LINK_MAX_AGE_DAYS * 86400
    data = signing.TimestampSigner(salt=RESTORE_SALT).unsign_object(token, max_age=max_age)
    return data["c"], data["m"]


def restore_url(cart, message=None):
    return token_url("omnichannel:restore_cart", restore_token(cart, message))
