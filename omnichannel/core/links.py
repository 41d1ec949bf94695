"""Absolute URLs, and the links that carry a signed token (``core/tokens.py``)."""

from functools import lru_cache
from urllib.parse import urljoin

from django.urls import get_script_prefix, get_urlconf, reverse

from ..conf import omnichannel_settings
from .tokens import restore_token, unsubscribe_token


def absolute_url(path):
    """``path`` on ``PUBLIC_BASE_URL`` (unchanged when already absolute or no base is set)."""
    base = omnichannel_settings.PUBLIC_BASE_URL
    return urljoin(base.rstrip("/") + "/", path.lstrip("/")) if base else path


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


def restore_url(cart, message_uuid=None):
    return token_url("omnichannel:restore_cart", restore_token(cart, message_uuid))
