"""The public bridge: track_cart, track_order, identify, with a plain adapter."""

from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from django.test import override_settings

from omnichannel import signals
from omnichannel.carts.carts import expire_stale_carts
from omnichannel.integrations import identify, track_cart, track_order
from omnichannel.models import CartSnapshot, Contact, TrackedOrder
from omnichannel.testing import FakeCart as Cart
from omnichannel.testing import FakeOrder as Order
from omnichannel.testing import cart_line as line
from omnichannel.testing.factories import CartSnapshotFactory

from .adapter import BROKEN, PLAIN

# Real commits, so that the on-commit writes run where the shop would see them run.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("plain_adapter")]


@pytest.fixture
def plain_adapter():
    with override_settings(OMNICHANNEL=PLAIN):
        yield


@pytest.fixture
def guest_request(rf):
    request = rf.post("/cart/add/")
    request.session = SessionStore()
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    return request


class TestTrackCart:
    def test_first_change_inserts_then_updates_the_same_row(self, guest_request):
        track_cart(Cart("c1", [line("Mug", 2)]), guest_request)
        track_cart(Cart("c1", [line("Mug", 3), line("Tea", 1, "4.50")]), guest_request)
        snapshot = CartSnapshot.objects.get()
        assert (snapshot.item_count, snapshot.value, snapshot.currency) == (
            4,
            Decimal("34.50"),
            "EUR",
        )
        assert [entry["name"] for entry in snapshot.lines] == ["Mug", "Tea"]
        assert snapshot.visitor_id is not None
        assert snapshot.contact is None

    def test_the_write_waits_for_the_shop_commit(self, guest_request):
        with transaction.atomic():
            track_cart(Cart("c1", [line()]), guest_request)
            assert not CartSnapshot.objects.exists()
        assert CartSnapshot.objects.exists()

    def test_a_rolled_back_cart_change_is_not_tracked(self, guest_request):
        with pytest.raises(RuntimeError), transaction.atomic():
            track_cart(Cart("c1", [line()]), guest_request)
            raise RuntimeError("the shop's checkout failed")
        assert not CartSnapshot.objects.exists()

    def test_converted_cart_ignores_later_changes(self, guest_request):
        CartSnapshotFactory(cart_key="c1", status="converted")
        track_cart(Cart("c1", [line("Other", 9)]), guest_request)
        snapshot = CartSnapshot.objects.get()
        assert snapshot.status == "converted" and snapshot.lines[0]["name"] == "Mug"

    def test_known_contact_is_never_cleared(self, contact):
        CartSnapshotFactory(cart_key="c1", contact=contact)
        track_cart(Cart("c1", [line()]))
        assert CartSnapshot.objects.get().contact == contact

    def test_email_held_by_the_shop_creates_the_contact(self):
        track_cart(Cart("c1", [line()], email="Guest@Example.com"))
        assert CartSnapshot.objects.get().contact.email == "guest@example.com"

    def test_stale_session_contact_is_ignored(self, guest_request, contact):
        identify(guest_request, email=contact.email)
        contact.delete()
        track_cart(Cart("c1", [line()]), guest_request)
        assert CartSnapshot.objects.get().contact is None

    def test_signal_after_write(self, guest_request):
        seen = []
        signals.cart_tracked.connect(
            lambda **kw: seen.append(kw["cart_key"]), weak=False, dispatch_uid="t"
        )
        try:
            track_cart(Cart("c1", [line()]), guest_request)
        finally:
            signals.cart_tracked.disconnect(dispatch_uid="t")
        assert seen == ["c1"]

    def test_broken_adapter_is_logged_not_raised(self, guest_request, caplog):
        with override_settings(OMNICHANNEL=BROKEN):
            assert track_cart(Cart("c1", [line()]), guest_request) is None
        assert "track_cart failed" in caplog.text
        assert "the shop's adapter is broken" in caplog.text
        assert not CartSnapshot.objects.exists()


class TestIdentify:
    def test_guest_cart_joins_the_contact_who_gives_an_email(self, guest_request):
        track_cart(Cart("c1", [line()]), guest_request)
        contact = identify(guest_request, email="ann@example.com", first_name="Ann")
        assert CartSnapshot.objects.get().contact == contact
        assert contact.first_name == "Ann"
        # The session now remembers the contact: later changes carry it directly.
        track_cart(Cart("c2", [line()]), guest_request)
        assert CartSnapshot.objects.get(cart_key="c2").contact == contact

    def test_invalid_email_is_ignored_with_a_warning(self, guest_request, caplog):
        assert identify(guest_request, email="not-an-email") is None
        assert "ignoring invalid email" in caplog.text
        assert not Contact.objects.exists()

    def test_phone_uses_the_given_country(self, guest_request):
        contact = identify(guest_request, phone="06 12 34 56 78", country="FR")
        assert contact.phone == "+33612345678" and contact.country == "FR"

    def test_attributes_are_added_without_overwriting(self, guest_request):
        identify(guest_request, email="a@example.com", attributes={"birth_year": 1990})
        contact = identify(
            guest_request, email="a@example.com", attributes={"birth_year": 1970, "freq": "weekly"}
        )
        assert contact.attributes == {"birth_year": 1990, "freq": "weekly"}

    def test_unknown_profile_field_is_reported(self, guest_request, caplog):
        assert identify(guest_request, email="a@example.com", shoe_size=42) is None
        assert "unexpected profile fields" in caplog.text


class TestTrackOrder:
    def test_purchase_converts_the_cart_and_links_the_buyer(self, guest_request):
        track_cart(Cart("c1", [line()]), guest_request)
        track_order(
            Order("o1", Decimal("10"), email="ann@example.com", cart_key="c1"), guest_request
        )
        order = TrackedOrder.objects.get()
        cart = CartSnapshot.objects.get()
        assert order.is_purchase and order.cart == cart
        assert cart.status == "converted" and cart.converted_at is not None
        assert order.contact.email == "ann@example.com" == cart.contact.email

    def test_non_purchase_status_does_not_convert_until_paid(self, guest_request):
        seen = []
        signals.order_tracked.connect(
            lambda **kw: seen.append(kw["became_purchase"]), weak=False, dispatch_uid="t"
        )
        try:
            with override_settings(OMNICHANNEL={**PLAIN, "PURCHASE_ORDER_STATUSES": ["paid"]}):
                track_cart(Cart("c1", [line()]), guest_request)
                track_order(Order("o1", Decimal("10"), status="pending_payment", cart_key="c1"))
                assert CartSnapshot.objects.get().status == "open"
                assert not TrackedOrder.objects.get().is_purchase
                track_order(Order("o1", Decimal("10"), status="paid", cart_key="c1"))
                track_order(Order("o1", Decimal("10"), status="paid", cart_key="c1"))
        finally:
            signals.order_tracked.disconnect(dispatch_uid="t")
        assert CartSnapshot.objects.get().status == "converted"
        assert TrackedOrder.objects.count() == 1
        assert seen == [False, True, False]

    def test_order_for_a_user_uses_their_contact(self, customer):
        track_order(Order("o1", Decimal("5"), user=customer))
        assert TrackedOrder.objects.get().contact.user == customer

    def test_broken_adapter_never_breaks_checkout(self, caplog):
        with override_settings(OMNICHANNEL=BROKEN):
            assert track_order(Order("o1", Decimal("5"))) is None
        assert "track_order failed" in caplog.text


def test_stale_carts_expire_in_batches():
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(days=31)
    for _ in range(3):
        CartSnapshotFactory(last_activity_at=old)
    CartSnapshotFactory(last_activity_at=old, status="converted")
    CartSnapshotFactory()
    assert expire_stale_carts() == 3
    assert sorted(CartSnapshot.objects.values_list("status", flat=True)) == [
        "converted",
        "expired",
        "expired",
        "expired",
        "open",
    ]
