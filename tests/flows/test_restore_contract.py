"""The restore contract: an adapter that copies the cart says where the lines went (the
snapshot follows, so the copy's order ends the recovery) and may set cookies on the
response."""

from decimal import Decimal

import pytest
from django.test import Client

from omnichannel.carts.orders import record_order
from omnichannel.core.links import restore_url
from omnichannel.integrations import OrderData, RestoredCart
from omnichannel.models import CartSnapshot
from omnichannel.testing import FakeAdapter
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory
from tests.adapter import PLAIN

pytestmark = pytest.mark.django_db


class CopyingAdapter(FakeAdapter):
    def restore_cart(self, request, snapshot):
        def set_cookie(response):
            response.set_cookie("shop_cart", "copy-1")

        return RestoredCart(cart_key="copy-1", url="/basket/", on_response=set_cookie)


class SameCartAdapter(FakeAdapter):
    def restore_cart(self, request, snapshot):
        return "/cart/"


def open_link(cart):
    return Client().get(restore_url(cart).removeprefix("https://shop.example.com"))


@pytest.fixture
def cart(settings):
    settings.OMNICHANNEL = {**PLAIN, "PUBLIC_BASE_URL": "https://shop.example.com"}
    return CartSnapshotFactory(contact=ContactFactory(), status="abandoned", cart_key="b-7")


def test_the_snapshot_follows_the_copy_and_its_order_converts_it(cart, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "SHOP_ADAPTER": f"{__name__}.CopyingAdapter"}
    response = open_link(cart)
    assert (response.status_code, response["Location"]) == (302, "/basket/")
    assert response.cookies["shop_cart"].value == "copy-1"
    cart.refresh_from_db()
    assert cart.cart_key == "copy-1"
    record_order(OrderData(order_key="o1", total=Decimal("10"), cart_key="copy-1"), None)
    cart.refresh_from_db()
    assert cart.status == "converted"


def test_a_copy_into_a_cart_tracked_already_leaves_both_alone(cart, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "SHOP_ADAPTER": f"{__name__}.CopyingAdapter"}
    CartSnapshotFactory(cart_key="copy-1")
    assert open_link(cart).status_code == 302
    assert set(CartSnapshot.objects.values_list("cart_key", flat=True)) == {"b-7", "copy-1"}


def test_a_bare_url_keeps_the_key(cart, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "SHOP_ADAPTER": f"{__name__}.SameCartAdapter"}
    assert open_link(cart)["Location"] == "/cart/"
    cart.refresh_from_db()
    assert cart.cart_key == "b-7"
