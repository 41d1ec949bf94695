"""A minimal shop adapter over plain objects, for tests that need no real shop."""

from dataclasses import dataclass, field
from decimal import Decimal

from omnichannel.integrations import CartLine, OrderData, ShopAdapter


@dataclass
class Cart:
    key: str
    lines: list = field(default_factory=list)
    email: str = ""


@dataclass
class Order:
    key: str
    total: Decimal
    status: str = "paid"
    email: str = ""
    user: object = None
    cart_key: str = ""


def line(name="Mug", quantity=1, price="10.00"):
    return CartLine(
        product_id=name.lower(), name=name, quantity=quantity, unit_price=Decimal(price)
    )


class PlainAdapter(ShopAdapter):
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
            currency="EUR",
            status=order.status,
            email=order.email,
            user=order.user,
            cart_key=order.cart_key,
        )


class BrokenAdapter(PlainAdapter):
    def get_cart_lines(self, cart):
        raise RuntimeError("the shop's adapter is broken")

    def get_order_data(self, order):
        raise RuntimeError("the shop's adapter is broken")


PLAIN = {"SHOP_ADAPTER": "tests.adapter.PlainAdapter", "DEFAULT_CURRENCY": "EUR"}
BROKEN = {"SHOP_ADAPTER": "tests.adapter.BrokenAdapter"}
