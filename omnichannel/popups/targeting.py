"""Which live popups match the visitor of a request.

Only what the server knows for sure is decided here: the page, the schedule, the device,
the visitor's login, cart, subscription and country. What lives in the browser (new or
returning visitor, the visit's referrer and UTM, how often popups were shown or closed)
is decided by the loader. Nothing here queries the database: the cart and subscription
come from the session, and facts that cost a lookup (the user, the session) are read
only when a popup asks for them.
"""

import re
from decimal import Decimal, InvalidOperation
from functools import cached_property

from django.utils import timezone, translation

from ..core.request_meta import header_country
from ..integrations import session
from ..models.popups import Device

MOBILE_USER_AGENT = re.compile(r"Mobi|Android|iPhone|iPad|iPod|Opera Mini", re.IGNORECASE)


class Visitor:
    """The facts about the visitor of ``request`` that targeting needs, each read once."""

    def __init__(self, request, now=None):
        self.request = request
        self.now = now or timezone.now()

    @cached_property
    def path(self):
        return self.request.path

    @cached_property
    def is_mobile(self):
        return bool(MOBILE_USER_AGENT.search(self.request.META.get("HTTP_USER_AGENT", "")))

    @cached_property
    def is_customer(self):
        user = getattr(self.request, "user", None)
        return bool(user is not None and user.is_authenticated)

    @cached_property
    def is_subscriber(self):
        return session.is_subscribed(self.request)

    @cached_property
    def cart(self):
        """(value, product ids and SKUs) of the last tracked cart; (0, empty) without one."""
        summary = session.cart_summary(self.request) or {}
        try:
            value = Decimal(summary.get("value", "0"))
        except (InvalidOperation, TypeError):
            value = Decimal("0")
        return value, frozenset(summary.get("items", ()))

    @cached_property
    def country(self):
        return header_country(self.request)

    @cached_property
    def language(self):
        return (translation.get_language() or "").lower()


def matches(popup, visitor):
    """Whether the cached ``popup`` (a ``config.LivePopup``) may show to ``visitor``."""
    if popup.starts_at and visitor.now < popup.starts_at:
        return False
    if popup.ends_at and visitor.now >= popup.ends_at:
        return False
    if popup.include and not popup.include.match(visitor.path):
        return False
    if popup.exclude and popup.exclude.match(visitor.path):
        return False
    if popup.device != Device.ALL and (popup.device == Device.MOBILE) != visitor.is_mobile:
        return False
    if popup.countries and visitor.country not in popup.countries:
        return False
    if popup.needs_cart and not _cart_matches(popup, *visitor.cart):
        return False
    if popup.hide_from_customers and visitor.is_customer:
        return False
    if popup.hide_from_subscribers and visitor.is_subscriber:
        return False
    return bool(variants_for(popup, visitor.language))


def _cart_matches(popup, value, items):
    if popup.min_cart_value is not None and value < popup.min_cart_value:
        return False
    if popup.max_cart_value is not None and value > popup.max_cart_value:
        return False
    return not popup.cart_contains or bool(popup.cart_contains & items)


def variants_for(popup, language):
    """The variants written in ``language`` ("fr" also serves "fr-be"), else those for all."""
    primary = language.split("-")[0]
    own = [v for v in popup.variants if v.locale and v.locale in (language, primary) and v.weight]
    return own or [v for v in popup.variants if not v.locale and v.weight]


def patterns_regex(text):
    """One compiled regex for a list of paths with * wildcards (one per line), or None."""
    patterns = [line.strip() for line in text.splitlines() if line.strip()]
    if not patterns:
        return None
    return re.compile(
        "|".join("(?:" + ".*".join(map(re.escape, p.split("*"))) + ")$" for p in patterns)
    )
