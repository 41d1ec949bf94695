"""Each part of omnichannel.contrib.oscar against the real Oscar: the basket changes Oscar
sends no signal for, frozen and multiple baskets, orders and their statuses, consent at
registration and checkout, products, vouchers, the template overrides and the dashboard."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from oscar.apps.basket.models import Basket
from oscar.apps.order.models import Order
from oscar.apps.voucher.models import Voucher
from oscar.test.factories import create_product

from omnichannel.contrib.oscar import vouchers
from omnichannel.contrib.oscar.adapter import OscarAdapter
from omnichannel.contrib.oscar.settings import DEFAULT_CONSENT_WORDING
from omnichannel.core.links import restore_url
from omnichannel.flows.defaults import install_defaults
from omnichannel.integrations import CartLine, DiscountSpec, get_adapter
from omnichannel.models import (
    CartSnapshot,
    ConsentEvent,
    Contact,
    Enrollment,
    Flow,
    ProductView,
    TrackedOrder,
)

from .shop import Shopper

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot_of(basket_id):
    return CartSnapshot.objects.get(cart_key=str(basket_id))


def items(snapshot):
    return [(line["name"], line["quantity"]) for line in snapshot.lines]


class TestProductViews:
    def test_oscar_product_pages_are_recorded_and_joined_at_registration(self, catalogue):
        mug, tee = catalogue["mug"], catalogue["tee"]
        shopper = Shopper()
        shopper.browse(mug)
        shopper.browse(tee)
        shopper.browse(mug)  # again: the same row
        views = {view.name: view for view in ProductView.objects.all()}
        assert set(views) == {"Mug", "Tee"}
        assert (views["Mug"].price, views["Mug"].url) == (
            Decimal("12.50"),
            mug.get_absolute_url(),
        )
        assert views["Mug"].contact is None  # a guest so far
        shopper.register("ann@example.com", consent=True)
        ann = Contact.objects.get(email="ann@example.com")
        assert set(ProductView.objects.values_list("contact", flat=True)) == {ann.pk}

    def test_a_browsing_customer_without_a_basket_gets_the_shipped_reminder(
        self, catalogue, _outbox
    ):
        from omnichannel.browsing.abandonment import detect_abandoned_browsing
        from omnichannel.flows.engine import advance_due
        from omnichannel.models import Enrollment, Flow
        from omnichannel.outbox.dispatch import dispatch_batch

        call_command("omnichannel_install_defaults", verbosity=0)
        browse = Flow.objects.get(slug="browse-abandonment")
        browse.status, browse.activated_at = "active", timezone.now() - timedelta(days=1)
        browse.save()
        shopper = Shopper()
        shopper.register("ann@example.com", consent=True)
        shopper.browse(catalogue["tee"])
        ProductView.objects.update(last_viewed_at=timezone.now() - timedelta(minutes=61))
        assert detect_abandoned_browsing().enrolled == 1
        due = Enrollment.objects.get(flow=browse).next_step_at
        advance_due(now=due)
        assert dispatch_batch("oscar", now=due).sent == 1
        [(channel, to, rendered, _uuid)] = _outbox
        assert (channel, to) == ("email", "ann@example.com")
        assert "- Tee (€20.00)" in rendered["text"]


class TestStockRecords:
    def test_units_again_after_none_is_back_in_stock_news(self, catalogue):
        from oscar.apps.partner.models import StockRecord

        from omnichannel.models import ProductEvent

        record = StockRecord.objects.get(product=catalogue["mug"])
        record.num_in_stock = 0
        record.save()
        assert not ProductEvent.objects.exists()  # 50 -> 0: no news
        record = StockRecord.objects.get(pk=record.pk)  # as the dashboard loads it
        record.num_in_stock = 5
        record.save()
        record.num_in_stock = 9  # more of what is there: no news
        record.save()
        event = ProductEvent.objects.get()
        assert (event.kind, event.product_id, event.product["name"]) == (
            "back_in_stock",
            str(catalogue["mug"].pk),
            "Mug",
        )

    def test_a_lower_price_is_price_drop_news_and_a_higher_one_is_not(self, catalogue):
        from oscar.apps.partner.models import StockRecord

        from omnichannel.models import ProductEvent

        record = StockRecord.objects.get(product=catalogue["tee"])
        record.price = Decimal("25.00")
        record.save()
        assert not ProductEvent.objects.exists()
        record.price = Decimal("15.00")
        record.save()
        event = ProductEvent.objects.get()
        assert (event.kind, event.old_price, event.new_price) == (
            "price_drop",
            Decimal("25.00"),
            Decimal("15.00"),
        )
        assert event.product["price"] == "15.00"  # the strategy's price after the change

    def test_a_viewer_hears_the_tee_is_back(self, catalogue, _outbox):
        from oscar.apps.partner.models import StockRecord

        from omnichannel.browsing.news import announce_due
        from omnichannel.flows.engine import advance_due
        from omnichannel.models import Flow
        from omnichannel.outbox.dispatch import dispatch_batch

        call_command("omnichannel_install_defaults", verbosity=0)
        Flow.objects.filter(slug="back-in-stock").update(
            status="active", activated_at=timezone.now() - timedelta(days=1)
        )
        record = StockRecord.objects.get(product=catalogue["tee"])
        record.num_in_stock = 0
        record.save()
        shopper = Shopper()
        shopper.register("ann@example.com", consent=True)
        shopper.browse(catalogue["tee"])
        record = StockRecord.objects.get(pk=record.pk)
        record.num_in_stock = 3
        record.save()
        assert announce_due().enrolled == 1
        now = timezone.now()
        advance_due(now=now)
        assert dispatch_batch("oscar", now=now).sent == 1
        [(channel, to, rendered, _uuid)] = _outbox
        assert (to, rendered["subject"]) == ("ann@example.com", "It is back: Tee")


class TestBasketChanges:
    def test_add_change_save_for_later_and_remove_are_all_seen(self, catalogue):
        mug, tee = catalogue["mug"], catalogue["tee"]
        shopper = Shopper()
        shopper.register("ann@example.com")
        shopper.add(mug)
        shopper.add(tee)
        basket = shopper.basket()
        assert items(snapshot_of(basket.pk)) == [("Mug", 1), ("Tee", 1)]
        shopper.change_quantity(3, line=0)
        assert items(snapshot_of(basket.pk)) == [("Mug", 3), ("Tee", 1)]
        shopper.change_quantity(1, line=1, save_for_later=True)
        snapshot = snapshot_of(basket.pk)
        assert items(snapshot) == [("Mug", 3)] and snapshot.value == Decimal("37.50")
        # The "saved for later" basket is no cart.
        saved = Basket.saved.get(owner__email="ann@example.com")
        assert not CartSnapshot.objects.filter(cart_key=str(saved.pk)).exists()
        shopper.change_quantity(0, line=0)
        assert snapshot_of(basket.pk).item_count == 0
        assert snapshot_of(basket.pk).contact.user.email == "ann@example.com"

    def test_the_login_merge_moves_the_guest_basket_to_the_user(self, catalogue):
        get_user_model().objects.create_user("bo", "bo@example.com", "a-Long-pass-123")
        shopper = Shopper()
        shopper.add(catalogue["tee"], 2)
        guest_basket = shopper.basket()
        assert snapshot_of(guest_basket.pk).item_count == 2
        shopper.log_in("bo@example.com")
        user_basket = shopper.basket()
        assert user_basket.pk != guest_basket.pk
        assert snapshot_of(guest_basket.pk).item_count == 0  # merged away
        merged = snapshot_of(user_basket.pk)
        assert items(merged) == [("Tee", 2)] and merged.contact.email == "bo@example.com"

    def test_the_snapshot_carries_oscar_product_data(self, catalogue, settings):
        parent = create_product(title="T-shirt", structure="parent")
        child = create_product(
            title="", structure="child", parent=parent, price=Decimal("8.00"), num_in_stock=5
        )
        shopper = Shopper()
        shopper.add(child)
        line = snapshot_of(shopper.basket().pk).lines[0]
        assert line["name"] == "T-shirt" and line["unit_price"] == "8.00"
        assert line["sku"] == child.stockrecords.get().partner_sku
        assert line["url"] == child.get_absolute_url()
        assert snapshot_of(shopper.basket().pk).currency == "EUR"


class TestCheckout:
    def test_a_guest_at_checkout_is_identified_and_consent_recorded_as_shown(self, catalogue):
        shopper = Shopper()
        shopper.add(catalogue["mug"])
        page = shopper.client.get(reverse("checkout:index"))
        assert str(DEFAULT_CONSENT_WORDING) in page.content.decode()
        shopper.start_guest_checkout("cy@example.com", consent=True)
        snapshot = snapshot_of(shopper.basket().pk)
        assert snapshot.contact.email == "cy@example.com"
        assert snapshot.checkout_started_at is not None
        event = ConsentEvent.objects.get(contact=snapshot.contact)
        assert (event.source, event.wording) == ("oscar:checkout", str(DEFAULT_CONSENT_WORDING))

    def test_no_box_ticked_no_consent(self, catalogue):
        shopper = Shopper()
        shopper.add(catalogue["mug"])
        shopper.start_guest_checkout("dee@example.com")
        assert Contact.objects.get(email="dee@example.com").consents.count() == 0

    def test_an_order_converts_its_basket_and_statuses_are_mapped(self, catalogue):
        shopper = Shopper()
        shopper.add(catalogue["mug"])
        shopper.start_guest_checkout("ed@example.com")
        basket_id = shopper.basket().pk
        order = shopper.place_order()
        tracked = TrackedOrder.objects.get(order_key=order.number)
        assert (tracked.status, tracked.contact.email) == ("placed", "ed@example.com")
        assert tracked.total == order.total_incl_tax
        assert snapshot_of(basket_id).status == "converted"
        Order.objects.get(pk=order.pk).set_status("Being processed")
        tracked.refresh_from_db()
        assert tracked.status == "Being processed"

    def test_an_order_keeps_its_lines_and_links_their_reviews(self, catalogue):
        shopper = Shopper()
        shopper.add(catalogue["mug"], 2)
        shopper.start_guest_checkout("fay@example.com")
        order = shopper.place_order()
        tracked = TrackedOrder.objects.get(order_key=order.number)
        [line] = tracked.lines
        mug = catalogue["mug"]
        assert (line["name"], line["quantity"], line["url"]) == (
            mug.get_title(),
            2,
            mug.get_absolute_url(),
        )
        review = get_adapter().get_review_url(tracked, CartLine(line["product_id"], "", 2, 0))
        assert review == reverse(
            "catalogue:reviews-add", kwargs={"product_slug": mug.slug, "product_pk": mug.pk}
        )
        assert get_adapter().get_review_url(tracked, CartLine("999999", "", 1, 0)) == ""

    def test_completing_an_order_starts_the_review_request(self, catalogue, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "REVIEW_ORDER_STATUSES": ["Complete"]}
        install_defaults(activate=True)
        Flow.objects.update(activated_at=timezone.now() - timedelta(days=1))
        shopper = Shopper()
        shopper.add(catalogue["mug"])
        shopper.start_guest_checkout("gus@example.com")
        order = Order.objects.get(pk=shopper.place_order().pk)
        order.set_status("Being processed")
        assert not Enrollment.objects.filter(flow__slug="review-request").exists()
        order.set_status("Complete")  # Oscar's order_status_changed reports it
        [enrollment] = Enrollment.objects.filter(flow__slug="review-request")
        [line] = enrollment.context["order"]["lines"]
        mug = catalogue["mug"]
        path = reverse(
            "catalogue:reviews-add", kwargs={"product_slug": mug.slug, "product_pk": mug.pk}
        )
        assert line["review_url"] == f"http://testserver{path}"

    def test_an_order_without_basket_or_email_is_recorded(self, db):
        order = Order.objects.create(
            number="100042", currency="EUR", total_incl_tax=Decimal("5"),
            total_excl_tax=Decimal("5"), status="Pending", basket=None,
        )  # fmt: skip
        data = get_adapter().get_order_data(order)
        assert (data.cart_key, data.email, data.status) == ("", "", "placed")

    def test_a_frozen_basket_is_thawed_by_its_restore_link(self, catalogue):
        shopper = Shopper()
        shopper.add(catalogue["mug"])
        basket = shopper.basket()
        Basket.objects.get(pk=basket.pk).freeze()  # the payment step, left for the PSP
        snapshot = snapshot_of(basket.pk)
        assert snapshot.item_count == 1  # still a cart to recover
        response = shopper.open(restore_url(snapshot))
        assert response.status_code == 302
        assert Basket.objects.get(pk=basket.pk).status == Basket.OPEN
        assert shopper.basket().pk == basket.pk

    def test_a_users_basket_opens_for_that_user_logged_in(self, catalogue):
        shopper = Shopper()
        shopper.register("fay@example.com")
        shopper.add(catalogue["tee"])
        basket = shopper.basket()
        shopper.open(restore_url(snapshot_of(basket.pk)))
        assert shopper.basket().pk == basket.pk
        assert snapshot_of(basket.pk).cart_key == str(basket.pk)


class TestRegistration:
    def test_registration_starts_the_welcome_series_with_consent(self, catalogue):
        call_command("omnichannel_install_defaults", "--activate", verbosity=0)
        page = Shopper().client.get(reverse("customer:register"))
        assert str(DEFAULT_CONSENT_WORDING) in page.content.decode()
        Shopper().register("gil@example.com", consent=True)
        contact = Contact.objects.get(email="gil@example.com")
        assert contact.user is not None
        assert contact.enrollments.filter(flow__kind="welcome").exists()
        event = ConsentEvent.objects.get(contact=contact)
        assert (event.source, event.wording) == ("oscar:registration", str(DEFAULT_CONSENT_WORDING))


class TestVouchers:
    def spec(self, **fields):
        fields.setdefault("expires_at", timezone.now() + timedelta(days=3))
        return DiscountSpec(kind="percent", value=Decimal("10"), prefix="BACK", **fields)

    def test_a_single_use_voucher_respecting_oscars_rules(self, catalogue):
        code = OscarAdapter().create_discount_code(None, self.spec())
        voucher = Voucher.objects.get(code=code)
        assert code.startswith("BACK") and voucher.usage == Voucher.SINGLE_USE
        shopper = Shopper()
        shopper.add(catalogue["mug"])
        response = shopper.client.post(reverse("basket:vouchers-add"), {"code": code})
        assert response.status_code == 302
        assert shopper.basket().total_discount == Decimal("1.25")

    def test_an_expired_unused_voucher_is_removed(self, db):
        old = OscarAdapter().create_discount_code(
            None, self.spec(expires_at=timezone.now() - timedelta(seconds=1))
        )
        kept = Voucher.objects.create(
            name="Staff's own", code="STAFF", start_datetime=timezone.now() - timedelta(days=9),
            end_datetime=timezone.now() - timedelta(days=1),
        )  # fmt: skip
        assert vouchers.purge_expired() == 1
        assert not Voucher.objects.filter(code=old).exists()
        assert Voucher.objects.filter(pk=kept.pk).exists()


class TestPages:
    def test_the_popup_and_inbox_tags_are_on_oscars_pages(self, catalogue):
        page = Shopper().browse(catalogue["mug"]).content.decode()
        assert "omnichannel" in page  # the inline popup loader

    def test_the_preference_centre_is_linked_from_the_profile(self, catalogue):
        shopper = Shopper()
        shopper.register("hal@example.com")
        page = shopper.client.get(reverse("customer:profile-view")).content.decode()
        assert "/omnichannel/preferences/" in page

    def test_the_dashboard_leads_staff_to_the_marketing_admin(self, db, client):
        staff = get_user_model().objects.create_user(
            "staff", "staff@example.com", "pw", is_staff=True
        )
        client.force_login(staff)
        page = client.get(reverse("dashboard:index")).content.decode()
        assert reverse("admin:app_list", kwargs={"app_label": "omnichannel"}) in page
        assert reverse("admin:omnichannel_cartrecovery_changelist") in page
