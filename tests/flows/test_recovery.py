"""Cart recovery: detection, the clock, exits, the purchase race, restore links."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnichannel.carts.orders import record_order
from omnichannel.carts.recovery import claim_idle, detect_abandoned
from omnichannel.channels import locmem
from omnichannel.contacts.consent import grant_consent
from omnichannel.core import claims
from omnichannel.core.links import restore_url
from omnichannel.flows.engine import advance_due
from omnichannel.integrations import OrderData, get_adapter
from omnichannel.models import CartSnapshot, DeliveryEvent, Enrollment, Message, TrackedOrder
from omnichannel.outbox import dispatch
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory
from sample_shop.shop.models import Product

from ..conftest import LOCMEM
from .conftest import make_flow

pytestmark = pytest.mark.django_db


def ago(**delta):
    return timezone.now() - timedelta(**delta)


@pytest.fixture
def recovery(settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CHANNEL_BACKENDS": {"email": LOCMEM}}
    locmem.clear()
    flow = make_flow(
        name="Cart recovery",
        slug="cart-recovery",
        kind="cart_recovery",
        trigger="cart_abandoned",
        exit_goals=["ordered", "cart_emptied"],
        steps=[("Reminder", timedelta(hours=1), "email"), ("Offer", timedelta(hours=23), "email")],
    )
    offer = flow.steps.get(position=1)
    offer.offer_kind, offer.offer_value, offer.offer_prefix = "percent", Decimal("10"), "BACK"
    offer.save()
    return flow


@pytest.fixture
def ann():
    return ContactFactory(first_name="Ann", consents=["email"])


def idle_cart(contact, minutes=40, **fields):
    return CartSnapshotFactory(contact=contact, last_activity_at=ago(minutes=minutes), **fields)


@pytest.mark.parametrize("returning", [True, False])
class TestClaim:
    """``claim_idle`` through ``UPDATE ... RETURNING`` and through the claim and re-read of
    a database without it: the same carts, marked and read back the same way."""

    @pytest.fixture(autouse=True)
    def database(self, monkeypatch, returning):
        if not returning:
            monkeypatch.setattr(claims, "_updates_returning", lambda connection: False)

    def test_the_oldest_idle_carts_come_back_marked_newest_first(self, ann):
        oldest = idle_cart(ann, minutes=50, value=Decimal("12.50"))
        middle = idle_cart(ContactFactory(), minutes=45)
        newest = idle_cart(ann, minutes=40)
        now = timezone.now()
        claimed, abandoned, reachable = claim_idle(2, now)
        assert (claimed, abandoned) == (2, 2)
        assert [cart.pk for cart in reachable] == [oldest.pk]  # middle's contact: no consent
        cart = reachable[0]
        assert (cart.status, cart.reachable, cart.value) == ("abandoned", True, Decimal("12.50"))
        assert cart.last_activity_at == oldest.last_activity_at
        assert cart.contact_id == ann.pk and cart.uuid == oldest.uuid
        middle.refresh_from_db()
        newest.refresh_from_db()
        assert (middle.status, middle.reachable, middle.abandoned_at) == ("abandoned", False, now)
        assert newest.status == "open"

    def test_of_a_contacts_two_carts_in_a_batch_the_later_is_enrolled(self, recovery, ann):
        idle_cart(ann, minutes=50)
        later = idle_cart(ann, minutes=40)
        assert detect_abandoned().enrolled == 1
        assert Enrollment.objects.get().cart == later


class TestDetection:
    def test_idle_carts_of_reachable_contacts_are_enrolled(self, recovery, ann):
        cart = idle_cart(ann)
        fresh = idle_cart(ContactFactory(consents=["email"]), minutes=10)
        report = detect_abandoned()
        assert (report.abandoned, report.enrolled) == (1, 1)
        cart.refresh_from_db()
        fresh.refresh_from_db()
        assert (cart.status, fresh.status) == ("abandoned", "open")
        enrollment = Enrollment.objects.get()
        assert enrollment.cart == cart
        # The first nudge: about an hour after the cart went idle.
        expected = cart.last_activity_at + timedelta(minutes=30) + timedelta(hours=1)
        assert enrollment.next_step_at == expected

    def test_unreachable_empty_or_ordered_carts_are_not_enrolled(self, recovery, ann):
        idle_cart(None)  # guest, no contact
        idle_cart(ContactFactory())  # no consent
        idle_cart(ann, lines=[], item_count=0, value=0)  # empty
        ordered = idle_cart(ContactFactory(consents=["email"]))
        TrackedOrder.objects.create(
            order_key="bank", cart=ordered, contact=ordered.contact, is_purchase=False,
            status="pending_payment", total=10, currency="EUR", placed_at=timezone.now(),
        )  # fmt: skip
        report = detect_abandoned()
        # The empty cart is no abandoned cart; the three others are, and none is reachable.
        assert (report.abandoned, report.unreachable, report.enrolled) == (3, 3, 0)
        assert CartSnapshot.objects.filter(item_count=0).get().status == "expired"

    @pytest.mark.parametrize("transactional", [False, True])
    def test_a_batch_costs_the_same_statements_whatever_its_size(
        self, recovery, settings, transactional
    ):
        def batch_of(size):
            """(statements, report) of one detection batch of ``size`` idle carts of each kind."""
            Enrollment.objects.all().delete()
            CartSnapshot.objects.all().delete()
            for _ in range(size):
                idle_cart(ContactFactory(consents=["email"]))  # reachable
                idle_cart(ContactFactory())  # no consent
                idle_cart(None)  # guest
                idle_cart(ContactFactory(consents=["email"]), lines=[], item_count=0, value=0)
                ordered = idle_cart(ContactFactory(consents=["email"]))
                TrackedOrder.objects.create(
                    order_key=f"o{ordered.pk}", cart=ordered, contact=ordered.contact,
                    total=10, currency="EUR", placed_at=timezone.now(),
                )  # fmt: skip
            settings.OMNICHANNEL = {
                **settings.OMNICHANNEL,
                "CART_DETECTION_BATCH_SIZE": 5 * size,
                "CART_RECOVERY_TRANSACTIONAL": transactional,
            }
            with CaptureQueriesContext(connection) as statements:
                report = detect_abandoned()
            return len(statements), report

        small, small_report = batch_of(3)
        large, large_report = batch_of(30)
        assert small == large
        for size, report in ((3, small_report), (30, large_report)):
            assert (report.claimed, report.abandoned, report.unreachable, report.enrolled) == (
                5 * size, 4 * size, 3 * size, size
            )  # fmt: skip
        assert Enrollment.objects.count() == 30

    def test_a_cart_is_enrolled_once(self, recovery, ann):
        cart = idle_cart(ann)
        detect_abandoned()
        CartSnapshot.objects.filter(pk=cart.pk).update(status="open", last_activity_at=ago(hours=2))
        detect_abandoned()
        assert Enrollment.objects.count() == 1

    def test_guest_cart_joins_the_contact_who_gives_an_email(self, recovery, rf):
        from django.contrib.auth.models import AnonymousUser
        from django.contrib.sessions.backends.db import SessionStore

        from omnichannel.integrations import identify

        request = rf.post("/checkout/")
        request.session, request.user = SessionStore(), AnonymousUser()
        request.session["omnichannel"] = {"visitor": "8b4f2d3c-3c2e-4a53-9d43-6c0f1d9b1e11"}
        cart = idle_cart(None, visitor_id="8b4f2d3c-3c2e-4a53-9d43-6c0f1d9b1e11")
        contact = identify(request, email="guest@example.com")
        grant_consent(contact, "email", source="checkout")
        assert detect_abandoned().enrolled == 1
        assert Enrollment.objects.get().cart == cart


class TestTheClock:
    def test_editing_the_cart_restarts_the_current_step(self, recovery, ann):
        cart = idle_cart(ann)
        detect_abandoned()
        enrollment = Enrollment.objects.get()
        # The shopper comes back and edits the cart 20 minutes later.
        edited_at = cart.last_activity_at + timedelta(minutes=50)
        CartSnapshot.objects.filter(pk=cart.pk).update(status="open", last_activity_at=edited_at)
        report = advance_due(now=enrollment.next_step_at + timedelta(seconds=1))
        enrollment.refresh_from_db()
        assert (report.queued, report.postponed) == (0, 1)
        assert enrollment.next_step_at == edited_at + timedelta(minutes=30, hours=1)
        assert advance_due(now=enrollment.next_step_at + timedelta(seconds=1)).queued == 1
        assert Enrollment.objects.count() == 1

    def test_emptying_the_cart_ends_the_recovery(self, recovery, ann):
        cart = idle_cart(ann)
        detect_abandoned()
        CartSnapshot.objects.filter(pk=cart.pk).update(lines=[], item_count=0)
        report = advance_due(now=timezone.now() + timedelta(hours=2))
        assert report.exited == 1 and not Message.objects.exists()


class TestNeverAfterThePurchase:
    def test_an_order_between_claim_and_send_stops_the_reminder(
        self, recovery, ann, monkeypatch, django_capture_on_commit_callbacks
    ):
        cart = idle_cart(ann, minutes=120)  # the first reminder is due now
        detect_abandoned()
        advance_due()
        message = Message.objects.get()
        real_render = dispatch.render_message

        def order_meanwhile(msg):
            # The customer orders while the dispatcher holds the claimed batch.
            with django_capture_on_commit_callbacks(execute=True):
                record_order(
                    OrderData(order_key="o1", total=Decimal("25"), cart_key=cart.cart_key), ann
                )
            return real_render(msg)

        monkeypatch.setattr(dispatch, "render_message", order_meanwhile)
        dispatch.sweep()
        message.refresh_from_db()
        assert message.status == "cancelled" and locmem.outbox == []
        assert Enrollment.objects.get().state == "exited"

    def test_checkout_awaiting_payment_ends_the_reminders(
        self, recovery, ann, settings, django_capture_on_commit_callbacks
    ):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "PURCHASE_ORDER_STATUSES": ["paid"]}
        cart = idle_cart(ann)
        detect_abandoned()
        with django_capture_on_commit_callbacks(execute=True):
            record_order(
                OrderData(
                    order_key="bank",
                    total=Decimal("25"),
                    status="pending_payment",
                    cart_key=cart.cart_key,
                ),  # fmt: skip
                ann,
            )
        cart.refresh_from_db()
        enrollment = Enrollment.objects.get()
        assert cart.status == "abandoned"  # not a purchase: not converted
        assert (enrollment.state, enrollment.exit_reason) == (
            "exited",
            "checked out, awaiting payment",
        )

    def test_an_order_after_a_reminder_marks_the_cart_recovered(self, recovery, ann):
        cart = idle_cart(ann, minutes=120)
        detect_abandoned()
        advance_due()
        assert dispatch.sweep().sent == 1
        record_order(OrderData(order_key="o1", total=Decimal("25"), cart_key=cart.cart_key), ann)
        cart.refresh_from_db()
        assert cart.status == "recovered"


class TestRestoreLink:
    @pytest.fixture
    def offer_message(self, recovery, ann):
        mug = Product.objects.create(name="Mug", slug="mug", price=Decimal("12.50"), sku="MUG")
        lines = [{"product_id": str(mug.pk), "name": "Mug", "quantity": 2, "unit_price": "12.50"}]
        idle_cart(ann, lines=lines)
        detect_abandoned()
        soon = timezone.now() + timedelta(hours=1)
        advance_due(now=soon)
        advance_due(now=soon + timedelta(hours=23, minutes=1))
        return Message.objects.get(step__name="Offer")

    def test_restores_on_another_browser_with_the_code(self, offer_message):
        url = offer_message.context["cart"]["restore_url"]
        assert url.startswith("https://shop.example.com/omnichannel/cart/")
        browser = Client()  # a different device: no session, nobody logged in
        response = browser.get(url.removeprefix("https://shop.example.com"))
        assert response.status_code == 302 and response["Location"] == "/cart/"
        cart = browser.get("/cart/").context["cart"]
        assert [(item.product.name, item.quantity) for item in cart.items] == [("Mug", 2)]
        assert cart.discount_code == offer_message.context["discount"]["code"]
        session = browser.session
        assert "_auth_user_id" not in session and "contact" not in session.get("omnichannel", {})
        click = DeliveryEvent.objects.get(message=offer_message, kind="clicked")
        assert click.detail == "cart restore link"
        browser.get(url.removeprefix("https://shop.example.com"))
        assert DeliveryEvent.objects.filter(kind="clicked").count() == 1

    def test_a_tampered_token_gets_a_friendly_page(self, offer_message, client):
        url = offer_message.context["cart"]["restore_url"].removeprefix("https://shop.example.com")
        response = client.get(url[:-3] + "xx/")
        assert response.status_code == 400
        assert b"This link does not work" in response.content
        shop_url = get_adapter().get_shop_context()["url"]
        assert f'href="{shop_url}"'.encode() in response.content

    def test_an_expired_link_says_so(self, offer_message, client, settings):
        # One second: the shortest age the settings check lets through is above zero.
        one_second = 1 / 86400
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "CART_RESTORE_LINK_MAX_AGE_DAYS": one_second,
        }
        url = offer_message.context["cart"]["restore_url"].removeprefix("https://shop.example.com")
        import time

        time.sleep(1.1)
        response = client.get(url)
        assert response.status_code == 410 and b"expired" in response.content

    def test_an_ordered_cart_is_not_restored(self, ann, client, recovery):
        cart = idle_cart(ann, status="converted")
        response = client.get(restore_url(cart).removeprefix("https://shop.example.com"))
        assert response.status_code == 200 and b"has been ordered" in response.content


def test_transactional_mode_reminds_without_consent_but_without_offers(recovery, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CART_RECOVERY_TRANSACTIONAL": True}
    guest = ContactFactory()  # gave an email at checkout, no marketing consent
    idle_cart(guest, checkout_started_at=ago(minutes=45))
    assert detect_abandoned().enrolled == 1
    soon = timezone.now() + timedelta(hours=1)
    advance_due(now=soon)
    report = advance_due(now=soon + timedelta(hours=23, minutes=1))
    assert report.skipped == 1  # the offer step is marketing
    assert list(Message.objects.values_list("purpose", flat=True)) == ["transactional"]


def test_other_marketing_waits_while_a_cart_is_recovered(recovery, ann):
    idle_cart(ann)
    detect_abandoned()
    from omnichannel.outbox.queueing import enqueue

    newsletter, _ = enqueue(ann, "email", {"text": "news"}, idempotency_key="news")
    dispatch.sweep()
    newsletter.refresh_from_db()
    assert newsletter.status == "queued" and "cart recovery" in newsletter.last_error


def test_a_contact_is_recovered_again_for_a_later_cart(recovery, ann):
    first = idle_cart(ann)
    detect_abandoned()
    second = idle_cart(ann)
    assert detect_abandoned().enrolled == 0  # one cart at a time
    Enrollment.objects.filter(cart=first).update(state="completed")
    CartSnapshot.objects.filter(pk=second.pk).update(status="open")
    assert detect_abandoned().enrolled == 1
    assert Enrollment.objects.filter(cart=second).exists()


def test_detection_runs_batches_until_none_is_full(recovery, settings):
    from omnichannel.carts.recovery import detect_all

    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CART_DETECTION_BATCH_SIZE": 2}
    for _ in range(5):
        idle_cart(ContactFactory(consents=["email"]))
    report = detect_all()
    assert (report.abandoned, report.enrolled, report.batches) == (5, 5, 3)
