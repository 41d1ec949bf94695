"""Back in stock and price drop: the bridge calls, the sweep, the shipped flows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from omnichannel.browsing import alerts
from omnichannel.browsing.news import announce_due
from omnichannel.carts.orders import record_order
from omnichannel.channels import locmem
from omnichannel.flows.defaults import install_defaults
from omnichannel.flows.engine import advance_due
from omnichannel.integrations import (
    OrderData,
    Product,
    notify_back_in_stock,
    notify_price_drop,
)
from omnichannel.models import Enrollment, Flow, Message, ProductAlert, ProductEvent, ProductView
from omnichannel.outbox import dispatch
from omnichannel.testing.factories import ContactFactory

from .conftest import LOCMEM

pytestmark = pytest.mark.django_db

MUG = Product(product_id="7", name="Mug", url="/products/mug/", price=Decimal("12.50"))


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def viewed(contact, at=None):
    at = at or ago(days=2)
    return ProductView.objects.create(
        viewer=f"contact:{contact.pk}" if contact else "visitor:x",
        contact=contact,
        product_id=MUG.product_id,
        name=MUG.name,
        first_viewed_at=at,
        last_viewed_at=at,
    )


@pytest.fixture
def news(settings):
    """The shipped back-in-stock and price-drop flows, active, sending by email."""
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CHANNEL_BACKENDS": {"email": LOCMEM}}
    locmem.clear()
    install_defaults(activate=True)
    Flow.objects.update(activated_at=ago(days=1))


def sent_to():
    return sorted(to for _channel, to, _rendered, _uuid in locmem.outbox)


def deliver():
    now = timezone.now()
    advance_due(now=now)
    return dispatch.dispatch_batch("test", now=now)


class TestTheBridge:
    def test_back_in_stock_is_recorded_once_the_shop_commits(
        self, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks() as callbacks:
            notify_back_in_stock(MUG)
        assert not ProductEvent.objects.exists()
        callbacks[0]()
        event = ProductEvent.objects.get()
        assert (event.kind, event.product_id, event.product["name"]) == (
            "back_in_stock",
            "7",
            "Mug",
        )
        assert event.processed_at is None

    def test_a_price_drop_carries_both_prices(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            notify_price_drop(MUG, "15.00", Decimal("12.50"))
        event = ProductEvent.objects.get()
        assert (event.kind, event.old_price, event.new_price) == (
            "price_drop",
            Decimal("15.00"),
            Decimal("12.50"),
        )

    @pytest.mark.parametrize(("old", "new"), [("10", "12"), ("10", "10"), ("ten", "9")])
    def test_a_price_that_did_not_drop_is_logged_and_ignored(
        self, old, new, caplog, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            notify_price_drop(MUG, old, new)
        assert not ProductEvent.objects.exists()
        assert "notify_price_drop()" in caplog.text

    def test_a_shop_object_without_get_product_is_logged_not_raised(self, settings, caplog):
        settings.OMNICHANNEL = {"SHOP_ADAPTER": "omnichannel.testing.FakeAdapter"}
        notify_back_in_stock(object())
        assert "ShopAdapter.get_product() is required" in caplog.text


class TestTheSweep:
    def test_who_asked_and_who_viewed_lately_are_enrolled(self, news):
        asker = ContactFactory()
        alerts.request_alert(asker, "7")
        viewer = ContactFactory(consents=["email"])
        viewed(viewer)
        viewed(ContactFactory(), at=ago(days=40))  # too long ago
        viewed(None)  # never identified
        bought = ContactFactory(consents=["email"])
        viewed(bought)
        record_order(OrderData(order_key="o1", total=Decimal("12.50")), bought)
        event = alerts.record_event("back_in_stock", MUG)
        report = announce_due()
        assert (report.claimed, report.requested, report.viewers, report.enrolled) == (1, 1, 1, 2)
        enrollments = {e.contact: e for e in Enrollment.objects.filter(flow__slug="back-in-stock")}
        assert set(enrollments) == {asker, viewer}
        assert enrollments[asker].context["requested"] is True
        assert enrollments[viewer].context["product"]["name"] == "Mug"
        assert ProductAlert.objects.get().notified_at is not None
        event.refresh_from_db()
        assert event.processed_at is not None
        assert announce_due().claimed == 0

    def test_without_an_active_flow_the_requests_wait_for_one(self, db):
        alerts.request_alert(ContactFactory(), "7")
        alerts.record_event("back_in_stock", MUG)
        assert announce_due().enrolled == 0
        assert ProductAlert.objects.get().notified_at is None

    def test_a_price_drop_reaches_only_the_price_drop_flow(self, news):
        viewed(ContactFactory(consents=["email"]))
        alerts.record_event("price_drop", MUG, old_price=Decimal("15"), new_price=Decimal("12.50"))
        assert announce_due().enrolled == 1
        assert Enrollment.objects.get().flow.slug == "price-drop"


class TestTheShippedFlows:
    def test_the_notice_asked_for_goes_without_marketing_consent_the_rest_with_it(self, news):
        asker = ContactFactory(email="asker@example.com")
        alerts.request_alert(asker, "7")
        viewer = ContactFactory(email="viewer@example.com", consents=["email"])
        viewed(viewer)
        viewed(ContactFactory(email="browser@example.com"))  # viewed, never agreed
        alerts.record_event("back_in_stock", MUG)
        announce_due()
        assert deliver().sent == 2
        assert sent_to() == ["asker@example.com", "viewer@example.com"]
        purposes = dict(Message.objects.values_list("contact__email", "purpose"))
        assert purposes == {
            "asker@example.com": "transactional",
            "viewer@example.com": "marketing",
            "browser@example.com": "marketing",
        }
        assert Message.objects.get(contact__email="browser@example.com").status == "cancelled"
        [rendered] = [r for _c, to, r, _u in locmem.outbox if to == "viewer@example.com"]
        assert rendered["subject"] == "It is back: Mug"
        assert "Good news: Mug is back at" in rendered["text"]

    def test_a_contact_who_refused_email_gets_no_notice_even_if_they_asked(self, news):
        from omnichannel.contacts.consent import withdraw_consent

        asker = ContactFactory(email="asker@example.com")
        withdraw_consent(asker, "email", source="test", purpose="transactional")
        alerts.request_alert(asker, "7")
        alerts.record_event("back_in_stock", MUG)
        announce_due()
        assert deliver().sent == 0

    def test_the_price_drop_speaks_the_contact_s_language(self, news):
        viewed(ContactFactory(locale="fr", consents=["email"]))
        alerts.record_event("price_drop", MUG, old_price=Decimal("15"), new_price=Decimal("12.50"))
        announce_due()
        assert deliver().sent == 1
        [(_channel, _to, rendered, _uuid)] = locmem.outbox
        assert rendered["subject"] == "Mug coûte moins cher"
        # The prices as French writes money: a decimal comma, the symbol after a space.
        assert "12,50\N{NO-BREAK SPACE}€ au lieu de 15,00\N{NO-BREAK SPACE}€" in rendered["text"]


def test_run_due_announces_the_news_and_sends_it(news):
    from omnichannel.testing import run_due

    viewed(ContactFactory(email="viewer@example.com", consents=["email"]))
    alerts.record_event("back_in_stock", MUG)
    assert run_due().sent == 1
    assert sent_to() == ["viewer@example.com"]


class TestExitsAndSuppression:
    def test_an_order_before_the_notice_goes_ends_it(self, news):
        viewer = ContactFactory(email="viewer@example.com", consents=["email"])
        viewed(viewer, at=ago(days=3))
        alerts.record_event("back_in_stock", MUG)
        announce_due()
        record_order(OrderData(order_key="o2", total=Decimal("12.50")), viewer)
        assert advance_due(now=timezone.now()).queued == 0
        enrollment = Enrollment.objects.get()
        assert (enrollment.state, enrollment.exit_reason) == ("exited", "Placed an order")

    def test_a_running_cart_recovery_holds_the_news_for_a_viewer(self, news):
        from omnichannel.testing.factories import CartSnapshotFactory

        viewer = ContactFactory(email="viewer@example.com", consents=["email"])
        viewed(viewer)
        recovery = Flow.objects.get(slug="cart-recovery")
        Enrollment.objects.create(
            flow=recovery,
            contact=viewer,
            cart=CartSnapshotFactory(contact=viewer),
            trigger_key="cart:y",
            triggered_at=ago(hours=1),
        )
        alerts.record_event("price_drop", MUG, old_price=Decimal("15"), new_price=Decimal("12.50"))
        announce_due()
        report = deliver()
        assert (report.sent, report.deferred) == (0, 1)
        waiting = Message.objects.get(enrollment__flow__slug="price-drop")
        assert waiting.last_error == "the contact is in a cart recovery"
