"""Writing cart snapshots: a currency the shop does not know, and errors that are not the
conflict the upsert expects."""

import pytest
from django.db import IntegrityError

from omnichannel.carts.carts import upsert_snapshot
from omnichannel.integrations import CartLine, track_cart
from omnichannel.models import CartSnapshot
from omnichannel.testing import FakeAdapter, FakeCart

from .adapter import PLAIN

pytestmark = pytest.mark.django_db

MUG = CartLine(product_id="1", name="Mug", quantity=1, unit_price=10)


class NoCurrencyAdapter(FakeAdapter):
    def get_cart_currency(self, cart):
        return None


def test_a_cart_without_currency_gets_the_default(settings, django_capture_on_commit_callbacks):
    settings.OMNICHANNEL = {
        **PLAIN,
        "SHOP_ADAPTER": "tests.test_carts.NoCurrencyAdapter",
        "DEFAULT_CURRENCY": "CHF",
    }
    with django_capture_on_commit_callbacks(execute=True):
        track_cart(FakeCart(key="c1", lines=[MUG]))
    assert CartSnapshot.objects.get(cart_key="c1").currency == "CHF"


def test_another_integrity_error_is_raised_not_hidden():
    with pytest.raises(IntegrityError):
        upsert_snapshot(cart_key="c1", lines=[MUG], value=None, currency="EUR")


def test_a_converted_cart_keeps_its_state():
    upsert_snapshot(cart_key="c1", lines=[MUG], value=10, currency="EUR")
    CartSnapshot.objects.update(status="converted")
    upsert_snapshot(cart_key="c1", lines=[MUG, MUG], value=20, currency="EUR")
    snapshot = CartSnapshot.objects.get()
    assert (snapshot.status, snapshot.item_count) == ("converted", 1)
