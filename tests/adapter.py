"""Adapters for tests that need no real shop: the shipped fake, and a broken one."""

from omnichannel.testing import FakeAdapter


class BrokenAdapter(FakeAdapter):
    def get_cart_lines(self, cart):
        raise RuntimeError("the shop's adapter is broken")

    def get_order_data(self, order):
        raise RuntimeError("the shop's adapter is broken")


PLAIN = {"SHOP_ADAPTER": "omnichannel.testing.FakeAdapter", "DEFAULT_CURRENCY": "EUR"}
BROKEN = {"SHOP_ADAPTER": "tests.adapter.BrokenAdapter"}
