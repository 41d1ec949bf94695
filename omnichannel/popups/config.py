"""The active popups as the template tag needs them, cached so a page reads no table.

The cache holds plain frozen dataclasses with the targeting rules compiled: a page only
filters them and writes their browser-side rules. Each variant's rendered markup sits in
a second entry, built from the same query, read only when a popup opens (pages never
unpickle it). Saving or deleting a popup or a variant clears both entries after the
transaction commits; with a cache shared between processes (Redis, Memcached) every
process sees the change at once, with a per-process cache (locmem) the others within
``POPUP_CACHE_TIMEOUT``.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from ..conf import omnichannel_settings
from ..models import Popup, PopupVariant
from ..models.popups import PopupStatus
from .markup import render_popup
from .targeting import patterns_regex

CACHE_KEY = "omnichannel:popups:live"
MARKUP_CACHE_KEY = "omnichannel:popups:markup"


@dataclass(frozen=True)
class LiveVariant:
    id: str
    locale: str
    weight: int


@dataclass(frozen=True)
class LivePopup:
    id: str
    priority: int
    starts_at: datetime | None
    ends_at: datetime | None
    include: re.Pattern | None
    exclude: re.Pattern | None
    device: str
    countries: frozenset
    min_cart_value: Decimal | None
    max_cart_value: Decimal | None
    cart_contains: frozenset
    hide_from_customers: bool
    hide_from_subscribers: bool
    # What the loader decides in the browser: triggers and browser-side conditions.
    client: dict
    variants: tuple

    @property
    def needs_cart(self):
        return bool(
            self.min_cart_value is not None or self.max_cart_value is not None or self.cart_contains
        )

    @classmethod
    def from_model(cls, popup):
        return cls(
            id=str(popup.uuid),
            priority=popup.priority,
            starts_at=popup.starts_at,
            ends_at=popup.ends_at,
            include=patterns_regex(popup.url_include),
            exclude=patterns_regex(popup.url_exclude),
            device=popup.device,
            countries=frozenset(popup.countries.upper().replace(",", " ").split()),
            min_cart_value=popup.min_cart_value,
            max_cart_value=popup.max_cart_value,
            cart_contains=frozenset(
                item.strip() for item in popup.cart_contains.split(",") if item.strip()
            ),
            hide_from_customers=popup.hide_from_customers,
            hide_from_subscribers=popup.hide_from_subscribers,
            client=client_rules(popup),
            variants=tuple(
                LiveVariant(
                    id=str(variant.uuid),
                    locale=variant.language,
                    weight=variant.weight,
                )
                for variant in popup.variants.all()
            ),
        )


def client_rules(popup):
    """The part of a popup the loader evaluates in the browser (keys kept short: it is
    written into every page)."""
    triggers = {
        "exit": popup.on_exit_intent,
        "scrollUp": popup.on_scroll_up,
        "tabReturn": popup.on_tab_return,
        "back": popup.on_back_button,
        "idle": popup.inactivity_seconds,
        "delay": popup.delay_seconds,
        "scroll": popup.scroll_percent,
        "click": popup.click_selector.strip(),
    }
    rules = {
        # Off is False, None (no number) or "" (no selector); a delay of 0 is on.
        "on": {
            name: value
            for name, value in triggers.items()
            if value is not None and value is not False and value != ""
        },
        "dwell": popup.min_seconds_on_page,
        "pages": popup.min_page_views,
        "hideDays": popup.hide_days_after_close,
        # The server hides these from visitors its session knows subscribed; the browser
        # also remembers a subscription, for pages served from a cache.
        "hideSubs": popup.hide_from_subscribers,
        "visitors": popup.visitors,
        "referrer": popup.referrer_contains.strip(),
        "utm": [pair.strip() for pair in popup.utm.split(",") if pair.strip()],
    }
    # Left out when off or empty; a 0 (no minimum time, no days hidden) is kept.
    return {
        key: value
        for key, value in rules.items()
        if value is not False and value not in ("", [], "all")
    }


def load_live_popups():
    """Build and cache the active popups (highest priority first) and their variants'
    markup ({variant id: HTML}), from one query."""
    queryset = Popup.objects.filter(status=PopupStatus.ACTIVE).prefetch_related("variants")
    popups, markup = [], {}
    for popup in queryset.order_by("-priority", "pk"):
        popups.append(LivePopup.from_model(popup))
        markup.update({str(v.uuid): render_popup(popup, v) for v in popup.variants.all()})
    timeout = omnichannel_settings.POPUP_CACHE_TIMEOUT
    cache.set_many({CACHE_KEY: popups, MARKUP_CACHE_KEY: markup}, timeout)
    return popups, markup


def live_popups():
    """Active popups, highest priority first; from the cache when warm."""
    popups = cache.get(CACHE_KEY)
    return load_live_popups()[0] if popups is None else popups


def live_markup(variant_id):
    """The markup of a live popup's variant by its id, or None (unknown, paused, gone)."""
    markup = cache.get(MARKUP_CACHE_KEY)
    if markup is None:
        markup = load_live_popups()[1]
    return markup.get(variant_id)


def clear_cache(**kwargs):
    transaction.on_commit(lambda: cache.delete_many([CACHE_KEY, MARKUP_CACHE_KEY]))


def connect_cache_invalidation():
    for model in (Popup, PopupVariant):
        uid = f"omnichannel.popups.cache.{model.__name__}"
        post_save.connect(clear_cache, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(clear_cache, sender=model, dispatch_uid=uid + ".delete")
