"""The shop adapter: the only place that knows the shop's own models.

A shop subclasses ``ShopAdapter``, implements the methods its features need, and names the
class in ``OMNICHANNEL["SHOP_ADAPTER"]``. Every method receives the shop's own objects (its
cart, its order) and returns the plain data classes below, so the rest of the app never
imports a shop model.

Methods that raise ``NotImplementedError`` are required for the feature that calls them:
cart tracking needs ``get_cart_key`` / ``get_cart_lines``, order tracking needs
``get_order_data``, cart recovery needs ``restore_cart``, offers need
``create_discount_code``; review requests link what ``get_review_url`` returns. Flows
call the batch hooks ``create_discount_codes`` and ``recommendations_for``, whose
defaults call the per-item methods.

Without ``SHOP_ADAPTER``, an installed ready integration (``omnichannel.contrib.oscar``)
provides the adapter: its app config names it in ``omnichannel_shop_adapter``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..conf import omnichannel_settings


@dataclass(frozen=True)
class CartLine:
    """One line of a cart, as the app stores and shows it.

    ``url`` and ``image_url`` may be absolute or site-relative; relative ones are joined
    to ``get_shop_context()["url"]`` wherever a full URL is needed (emails, push).
    """

    product_id: str
    name: str
    quantity: int
    unit_price: Decimal
    sku: str = ""
    url: str = ""
    image_url: str = ""

    @property
    def total(self):
        return self.unit_price * self.quantity

    def as_json(self):
        return {
            "product_id": str(self.product_id),
            "name": self.name,
            "quantity": self.quantity,
            "unit_price": str(self.unit_price),
            "sku": self.sku,
            "url": self.url,
            "image_url": self.image_url,
        }


@dataclass(frozen=True)
class OrderData:
    """What the app needs to know about an order.

    ``lines`` (``CartLine`` objects) are optional: post-purchase messages list them, link
    each to its review page and recommend products beside them.
    """

    order_key: str
    total: Decimal
    currency: str = ""
    status: str = ""
    email: str = ""
    phone: str = ""
    user: object = None
    cart_key: str = ""
    placed_at: datetime | None = None
    lines: list = field(default_factory=list)


@dataclass(frozen=True)
class Product:
    """A product to recommend in a message."""

    product_id: str
    name: str
    url: str
    price: Decimal | None = None
    image_url: str = ""


@dataclass(frozen=True)
class DiscountSpec:
    """The discount a flow step asks the shop to create."""

    kind: str  # "percent", "fixed" or "free_shipping"
    value: Decimal
    expires_at: datetime
    prefix: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RestoredCart:
    """What ``restore_cart`` did: the shop cart the snapshot now lives in, and where to go.

    ``cart_key`` is the key of the cart the lines went into (``get_cart_key`` of it): the
    snapshot's own key when the shop reopened the same cart, a new one when it had to copy
    the lines (another customer's browser, a cart the shop can no longer reopen). The app
    moves the snapshot to that key, so ordering from the copy ends the recovery.
    ``on_response`` is called with the redirect response, e.g. to set the shop's cart
    cookie for a guest.
    """

    cart_key: str
    url: str
    on_response: Callable | None = None


class ShopAdapter:
    """Base class for the shop adapter. Subclass it and override what your shop needs."""

    # --- carts -------------------------------------------------------------------------

    def get_cart_key(self, cart):
        """A stable string id of the cart, unique in the shop (e.g. ``str(basket.pk)``).

        Give a new id once a cart has become an order: the app keeps a converted cart
        converted and ignores later changes under the same id.
        """
        raise NotImplementedError("ShopAdapter.get_cart_key() is required for track_cart().")

    def get_cart_lines(self, cart):
        """The cart's lines as a list of ``CartLine``."""
        raise NotImplementedError("ShopAdapter.get_cart_lines() is required for track_cart().")

    def get_cart_total(self, cart, lines):
        """The cart's value; the default sums the lines. Override for shop-side discounts."""
        return sum((line.total for line in lines), Decimal("0"))

    def get_cart_currency(self, cart):
        """ISO 4217 code of the cart; the default is ``DEFAULT_CURRENCY``."""
        return omnichannel_settings.DEFAULT_CURRENCY

    def get_cart_email(self, cart):
        """An email the shop already holds for the cart's owner (guest checkout), or ''."""
        return ""

    def restore_cart(self, request, snapshot):
        """Rebuild ``snapshot`` (a ``CartSnapshot``) as the current cart of ``request``.

        Called by the restore link on any device, for an open or abandoned snapshot (an
        ordered one gets a page saying so); must not log anyone in. Returns a
        ``RestoredCart`` (the key of the cart the lines are now in, the URL to redirect
        to, and an optional hook for the response), or just the URL when the rebuilt
        cart keeps ``snapshot.cart_key``. The app records the change itself; no need to
        call ``track_cart``.
        """
        raise NotImplementedError("ShopAdapter.restore_cart() is required for restore links.")

    def apply_discount_code(self, request, code):
        """Put ``code`` on the current cart of ``request``; the default does nothing."""

    # --- orders ------------------------------------------------------------------------

    def get_order_data(self, order):
        """An ``OrderData`` describing ``order``."""
        raise NotImplementedError("ShopAdapter.get_order_data() is required for track_order().")

    def get_review_url(self, order, line):
        """Where the buyer reviews ``line`` (a ``CartLine``) of ``order`` (the app's
        ``TrackedOrder``: ``order_key``, ``status``, ``total``), or '' for none; the
        default links nothing. Asked once per line when an order is delivered, for the
        review request (a relative URL is joined to ``PUBLIC_BASE_URL``)."""
        return ""

    # --- merchandising -----------------------------------------------------------------

    def get_product(self, product):
        """The shop's ``product`` (as passed to ``track_product_view``) as a ``Product``.

        Called after the response has gone, never during the shop's request; not called
        for a ``Product`` passed as it is.
        """
        raise NotImplementedError(
            "ShopAdapter.get_product() is required for track_product_view() with "
            f"{type(product).__name__} objects (or pass a Product)."
        )

    def get_recommendations(self, contact, cart_lines, limit=3):
        """Products to show beside a cart or in a welcome message; default none."""
        return []

    def create_discount_code(self, contact, spec):
        """Create a single-use code for ``contact`` per ``spec``; return the code string."""
        raise NotImplementedError(
            "ShopAdapter.create_discount_code() is required for offers in flows."
        )

    # Flows ask these two once per batch of enrollments. The defaults call the per-item
    # methods above for each entry; override them to answer a whole batch in a few
    # queries (one bulk insert of codes, one read of products).

    def create_discount_codes(self, entries):
        """One code per ``(contact, spec)`` pair of ``entries``: the code strings, in order."""
        return [self.create_discount_code(contact, spec) for contact, spec in entries]

    def recommendations_for(self, carts, limit=3):
        """Products for each ``(contact, cart_lines)`` pair of ``carts``: one list each, in
        order (``cart_lines`` is empty outside a cart flow)."""
        return [self.get_recommendations(contact, lines, limit=limit) for contact, lines in carts]

    # --- the shop itself ---------------------------------------------------------------

    def get_shop_context(self):
        """The shop as message templates see it.

        Keys: ``name``, ``url`` (absolute base URL), ``address`` (the postal address that
        CAN-SPAM requires in marketing mail), ``support_email``; add any of your own.
        """
        return {}


@cache
def _adapter_instance(adapter_class):
    return adapter_class()


def integration_adapter_path():
    """The dotted path of the adapter an installed ready integration provides, or None."""
    for config in apps.get_app_configs():
        path = getattr(config, "omnichannel_shop_adapter", None)
        if path:
            return path
    return None


def get_adapter():
    """The configured adapter instance (one per class, created on first use)."""
    adapter_class = omnichannel_settings.SHOP_ADAPTER
    if adapter_class is None and integration_adapter_path():
        adapter_class = import_string(integration_adapter_path())
    if adapter_class is None:
        raise ImproperlyConfigured(
            'Set OMNICHANNEL["SHOP_ADAPTER"] to the dotted path of your ShopAdapter subclass.'
        )
    return _adapter_instance(adapter_class)
