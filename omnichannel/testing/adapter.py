"""A shop adapter over plain objects, for tests that need no real shop.

    OMNICHANNEL = {**OMNICHANNEL, "SHOP_ADAPTER": "omnichannel.testing.FakeAdapter"}

    cart = FakeCart("cart-1", [cart_line("Mug", 2, "12.50")], email="ann@example.com")
    track_cart(cart, request)
    track_order(FakeOrder("order-1", Decimal("25.00"), cart_key="cart-1"), request)

Discount codes it creates are ``<prefix>-<8 random characters>``; a restored cart
redirects to ``/cart/``.
"""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from ..integrations.adapter import CartLine, OrderData, ShopAdapter


@dataclass
class FakeCart:
    key: str
    lines: list = field(default_factory=list)
    email: str = ""


@dataclass
class FakeOrder:
    key: str
    total: Decimal
    status: str = "paid"
    email: str = ""
    user: object = None
    cart_key: str = ""
    currency: str = "EUR"


def cart_line(name="Mug", quantity=1, price="10.00"):
    return CartLine(
        product_id=name.lower(), name=name, quantity=quantity, unit_price=Decimal(price)
    )


class FakeAdapter(ShopAdapter):
    """Reads ``FakeCart`` and ``FakeOrder``; override a method to test your own answers."""

    def get_cart_key(self, cart):
        return cart.key

    def get_cart_lines(self, cart):
        return cart.lines

    def get_cart_email(self, cart):
        return cart.email

    def get_order_data(self, order):
        return OrderData(
            order_key=order.key,
            total=order.total,
            currency=order.currency,
            status=order.status,
            email=order.email,
            user=order.user,
            cart_key=order.cart_key,
        )

    def restore_cart(self, request, snapshot):
        return "/cart/"

    def create_discount_code(self, contact, spec):
        return f"{spec.prefix or 'CODE'}-{uuid.uuid4().hex[:8].upper()}"

    def get_shop_context(self):
        return {"name": "Test shop", "url": "https://shop.example.com/"}
