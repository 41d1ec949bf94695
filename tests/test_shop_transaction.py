"""The bridge inside the shop's transaction: our database error never aborts the shop's.

On PostgreSQL a failed query aborts the transaction it ran in. With ATOMIC_REQUESTS each
view is one transaction, so an error in a bridge call that was only caught would make the
shop's next query fail and its commit roll back the order it had just saved. Each test
forces a real database error inside one entry point and checks that the shop's own write
of the same request commits and the response is not an error.
"""

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.http import HttpResponse
from django.urls import path, reverse

from omnichannel import signals
from omnichannel.flows.events import track_event
from omnichannel.integrations import identify, track_cart, track_order, track_signup
from omnichannel.testing.factories import ContactFactory
from sample_shop.shop.models import Order, Product
from sample_shop.shop.omnichannel_adapter import SampleShopAdapter

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def atomic_requests(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("an aborted transaction is PostgreSQL's behaviour: run the services tier")
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)


def failing_query(*args, **kwargs):
    """A real database error (division by zero) where the bridge would write or read."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")


# --- a small shop view: its own write, a bridge call, its next query ----------------------

BRIDGE_CALLS = {
    "identify": lambda request: identify(request, email="ann@example.com"),
    "track_signup": lambda request: track_signup(
        get_user_model().objects.create_user(f"u{uuid.uuid4().hex[:8]}", "ann@example.com")
    ),
    "track_event": lambda request: track_event("wishlist_added", ContactFactory()),
    "track_cart": lambda request: track_cart(object(), request),
    "track_order": lambda request: track_order(object(), request),
    "cart_changed": lambda request: signals.cart_changed.send(
        sender=None, cart=object(), request=request
    ),
    "order_placed": lambda request: signals.order_placed.send(
        sender=None, order=object(), request=request
    ),
}

# Where each call meets the database first: the query made to fail there.
FAILING_AT = {
    "identify": "omnichannel.contacts.identity.resolve_contact",
    "track_signup": "omnichannel.contacts.identity.mark_signed_up",
    "track_event": "omnichannel.flows.events.trigger",
    "track_cart": (SampleShopAdapter, "get_cart_lines"),
    "track_order": (SampleShopAdapter, "get_order_data"),
    "cart_changed": (SampleShopAdapter, "get_cart_lines"),
    "order_placed": (SampleShopAdapter, "get_order_data"),
}


def shop_view(request, call):
    Group.objects.create(name=request.GET["order"])  # the shop's own write
    BRIDGE_CALLS[call](request)
    placed = Group.objects.filter(name=request.GET["order"]).count()  # its next query
    return HttpResponse(f"placed {placed}")


urlpatterns = [path("shop/<str:call>/", shop_view, name="shop-view")]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("call", sorted(BRIDGE_CALLS))
def test_a_database_error_in_the_bridge_leaves_the_shops_transaction_whole(
    call, client, monkeypatch, caplog
):
    target = FAILING_AT[call]
    if isinstance(target, tuple):
        monkeypatch.setattr(*target, failing_query)
    else:
        monkeypatch.setattr(target, failing_query)
    response = client.get(reverse("shop-view", args=[call]), {"order": f"order-{call}"})
    assert (response.status_code, response.content) == (200, b"placed 1")
    assert Group.objects.filter(name=f"order-{call}").exists()  # committed
    assert "division by zero" in caplog.text  # logged, not raised


# --- the sample shop's own checkout --------------------------------------------------------


def test_the_order_commits_when_the_bridge_fails_at_checkout(client, monkeypatch, caplog):
    mug = Product.objects.create(name="Mug", slug="mug", price=Decimal("12.50"), sku="MUG")
    client.post(reverse("shop:cart_add", args=[mug.pk]), {"quantity": 1})
    details = {"name": "Ann Smith", "email": "ann@example.com", "phone": ""}
    assert client.post(reverse("shop:checkout"), details).status_code == 302
    monkeypatch.setattr(SampleShopAdapter, "get_order_data", failing_query)

    response = client.post(reverse("shop:checkout_payment"), {"payment_method": "card"})

    order = Order.objects.get()  # the shop's order committed
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert client.get(response["Location"]).status_code == 200
    assert "division by zero" in caplog.text
