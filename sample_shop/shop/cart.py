"""The session cart.

The cart lives in ``request.session["cart"]`` as plain JSON::

    {"id": "<uuid>", "lines": {"<product id>": <quantity>}, "discount_code": "WELCOME-X"}

``id`` is the cart key omnichannel tracks. Once the cart has become an order it gets a new
id (``renew()``): omnichannel keeps a converted cart converted and would ignore later
changes made under the old id.
"""

import uuid
from dataclasses import dataclass
from functools import cached_property

from .models import ZERO, DiscountCode, Product

SESSION_KEY = "cart"
MAX_QUANTITY = 99


@dataclass(frozen=True)
class CartItem:
    """A cart line joined with its product."""

    product: Product
    quantity: int

    @property
    def unit_price(self):
        return self.product.price

    @property
    def total(self):
        return self.product.price * self.quantity


def clamp_quantity(quantity):
    return max(0, min(int(quantity), MAX_QUANTITY))


class Cart:
    """The visitor's cart, read from and written to their session."""

    def __init__(self, request):
        self.session = request.session
        data = self.session.get(SESSION_KEY)
        # A new cart is only written to the session on its first change, so that merely
        # looking at the shop does not create a session.
        self.data = data if self._is_valid(data) else self._empty()

    @staticmethod
    def new_id():
        return str(uuid.uuid4())

    @classmethod
    def _empty(cls):
        return {"id": cls.new_id(), "lines": {}}

    @staticmethod
    def _is_valid(data):
        return (
            isinstance(data, dict)
            and isinstance(data.get("id"), str)
            and isinstance(data.get("lines"), dict)
        )

    def _changed(self):
        self.session[SESSION_KEY] = self.data
        self.session.modified = True
        # Drop what was read from the database for the old contents.
        for name in ("items", "discount"):
            self.__dict__.pop(name, None)

    # --- reading ---------------------------------------------------------------------------

    @property
    def id(self):
        return self.data["id"]

    @property
    def discount_code(self):
        return self.data.get("discount_code", "")

    def quantity_of(self, product_id):
        return self.data["lines"].get(str(product_id), 0)

    def __len__(self):
        """The number of items, from the session alone (no query): for the header badge."""
        return sum(q for q in self.data["lines"].values() if isinstance(q, int))

    @cached_property
    def items(self):
        """``CartItem`` list in the order lines were added; one query for the products.

        Lines whose product is gone or inactive are skipped, so the page and checkout
        only ever show what can be bought.
        """
        lines = self.data["lines"]
        ids = [int(key) for key in lines if key.isdigit()]
        products = Product.objects.filter(is_active=True).in_bulk(ids)
        return [
            CartItem(products[int(key)], quantity)
            for key, quantity in lines.items()
            if key.isdigit() and int(key) in products and isinstance(quantity, int)
        ]

    @property
    def subtotal(self):
        return sum((item.total for item in self.items), ZERO)

    @cached_property
    def discount(self):
        """The applied ``DiscountCode`` if it can still be used, else None."""
        if not self.discount_code:
            return None
        return DiscountCode.objects.usable().filter(code=self.discount_code).first()

    @property
    def discount_amount(self):
        return self.discount.amount_off(self.subtotal) if self.discount else ZERO

    @property
    def total(self):
        return self.subtotal - self.discount_amount

    # --- changing ----------------------------------------------------------------------

    def add(self, product, quantity=1):
        self.update(product, self.quantity_of(product.pk) + quantity)

    def update(self, product, quantity):
        """Set the quantity of ``product``; zero or less removes the line."""
        quantity = clamp_quantity(quantity)
        if quantity:
            self.data["lines"][str(product.pk)] = quantity
        else:
            self.data["lines"].pop(str(product.pk), None)
        self._changed()

    def remove(self, product_id):
        self.data["lines"].pop(str(product_id), None)
        self._changed()

    def apply_discount(self, code):
        self.data["discount_code"] = code
        self._changed()

    def remove_discount(self):
        self.data.pop("discount_code", None)
        self._changed()

    def replace(self, quantities, cart_id=None):
        """Replace every line by ``quantities`` ({product id: quantity}); keep the code."""
        self.data["lines"] = {
            str(pk): clamp_quantity(quantity)
            for pk, quantity in quantities.items()
            if clamp_quantity(quantity)
        }
        if cart_id:
            self.data["id"] = cart_id
        self._changed()

    def clear(self):
        self.data["lines"] = {}
        self.data.pop("discount_code", None)
        self._changed()

    def renew(self):
        """Start a new, empty cart under a new id (after checkout)."""
        self.data = self._empty()
        self._changed()
