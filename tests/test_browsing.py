"""Product views and browse abandonment: the bridge, the sweep, the shipped flow."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core.signals import request_finished
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnichannel.browsing import product_views
from omnichannel.browsing.abandonment import detect_abandoned_browsing
from omnichannel.carts.orders import record_order
from omnichannel.channels import locmem
from omnichannel.flows.defaults import install_defaults
from omnichannel.flows.engine import advance_due
from omnichannel.integrations import (
    OrderData,
    Product,
    api,
    identify,
    receivers,
    track_product_view,
)
from omnichannel.integrations.api import write_buffered_views, write_views
from omnichannel.models import Enrollment, Flow, Message, ProductView
from omnichannel.models.flows import ExitGoal
from omnichannel.outbox import dispatch
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

from .conftest import LOCMEM

pytestmark = pytest.mark.django_db

MUG = Product(product_id="7", name="Mug", url="/products/mug/", price=Decimal("12.50"))
TEAPOT = Product(product_id="8", name="Teapot", url="/products/teapot/", price=Decimal("30"))


def shop_request(session=None, user=None):
    """A request as the shop's view sees it: its session already loaded (the shop's auth
    middleware reads it to show who is logged in)."""
    request = RequestFactory().get("/products/mug/")
    request.session = session if session is not None else SessionStore()
    request.session.load()
    request.user = user or AnonymousUser()
    return request


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def viewed(contact, product=MUG, at=None, viewer=None):
    at = at or ago(minutes=90)
    return ProductView.objects.create(
        viewer=viewer or f"contact:{contact.pk}",
        contact=contact,
        product_id=product.product_id,
        name=product.name,
        url=product.url,
        price=product.price,
        first_viewed_at=at,
        last_viewed_at=at,
    )


# --- recording views ------------------------------------------------------------------------


class TestTrackingViews:
    def test_a_view_costs_the_request_no_query_and_is_written_after_the_response(
        self, django_assert_num_queries
    ):
        request = shop_request()
        with django_assert_num_queries(0):
            track_product_view(MUG, request)
            track_product_view(TEAPOT, request)
        assert not ProductView.objects.exists()
        # The response has gone: one upsert for the request's views (in a savepoint here,
        # inside the test's transaction).
        with CaptureQueriesContext(connection) as queries:
            receivers.request_finished_receiver(sender=self.__class__)
        statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
        assert len(statements) == 1 and "ON CONFLICT" in statements[0]
        rows = {v.product_id: v for v in ProductView.objects.all()}
        assert set(rows) == {"7", "8"}
        visitor = request.session["omnichannel"]["visitor"]
        assert {v.viewer for v in rows.values()} == {f"visitor:{visitor}"}
        assert (rows["7"].name, rows["7"].price, rows["7"].contact) == (
            "Mug",
            Decimal("12.50"),
            None,
        )

    def test_views_are_one_row_per_visitor_and_product(self):
        session = SessionStore()
        moments = [ago(hours=3), ago(hours=2), ago(hours=1)]
        for moment in moments:
            track_product_view(MUG, shop_request(session))
            [view] = product_views.take_buffered()
            write_views([replace(view, viewed_at=moment)])
        track_product_view(MUG, shop_request())  # another visitor
        write_buffered_views()
        mine = ProductView.objects.get(visitor_id=session["omnichannel"]["visitor"])
        assert (mine.first_viewed_at, mine.last_viewed_at) == (moments[0], moments[-1])
        assert ProductView.objects.count() == 2

    def test_a_handled_view_opens_again_when_viewed_again(self, django_capture_on_commit_callbacks):
        ann = ContactFactory()
        view = viewed(ann)
        ProductView.objects.filter(pk=view.pk).update(handled_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            track_product_view(MUG, contact=ann)  # no request: written after the commit
        view.refresh_from_db()
        assert view.handled_at is None and view.last_viewed_at > ago(minutes=1)

    def test_identifying_the_visitor_later_gives_them_their_views(self):
        request = shop_request()
        track_product_view(MUG, request)
        write_buffered_views()
        contact = identify(request, email="ann@example.com")
        assert ProductView.objects.get().contact == contact
        # Views after that carry the contact from the start.
        track_product_view(TEAPOT, request)
        write_buffered_views()
        assert set(ProductView.objects.values_list("contact", flat=True)) == {contact.pk}

    def test_a_visitor_identified_later_in_the_same_request_gets_the_view(self):
        request = shop_request()
        track_product_view(MUG, request)
        contact = identify(request, email="ann@example.com")
        write_buffered_views()
        assert ProductView.objects.get().contact == contact

    def test_a_logged_in_user_s_view_goes_to_their_contact(self, customer):
        contact = ContactFactory(user=customer, email="other@example.com")
        track_product_view(MUG, shop_request(user=customer))
        write_buffered_views()
        assert ProductView.objects.get().contact == contact

    def test_an_anonymous_view_without_a_session_is_dropped(self):
        request = RequestFactory().get("/")
        request.user = AnonymousUser()
        track_product_view(MUG, request)
        assert write_buffered_views() == 0
        assert not ProductView.objects.exists()

    def test_a_shop_object_needs_the_adapter_s_get_product(self, settings, caplog):
        settings.OMNICHANNEL = {"SHOP_ADAPTER": "omnichannel.testing.FakeAdapter"}
        track_product_view(object(), shop_request())
        receivers.request_finished_receiver(sender=self.__class__)  # logged, never raised
        assert "ShopAdapter.get_product() is required" in caplog.text
        assert not ProductView.objects.exists()

    def test_the_views_are_written_before_django_closes_the_connection(self, monkeypatch):
        done = []
        track_product_view(MUG, shop_request())
        monkeypatch.setattr(api, "write_buffered_views", lambda: done.append("views written"))
        monkeypatch.setattr(
            connection, "close_if_unusable_or_obsolete", lambda: done.append("connection closed")
        )
        request_finished.send(sender=self.__class__)
        assert done == ["views written", "connection closed"]

    def test_a_new_request_starts_with_an_empty_buffer(self):
        from django.core.signals import request_started

        track_product_view(MUG, shop_request())
        request_started.send(sender=self.__class__)
        assert write_buffered_views() == 0


# --- browse abandonment ---------------------------------------------------------------------


@pytest.fixture
def browse(settings):
    """The shipped browse-abandonment flow, active since yesterday, sending by email."""
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CHANNEL_BACKENDS": {"email": LOCMEM}}
    locmem.clear()
    install_defaults(activate=True)
    Flow.objects.update(activated_at=ago(days=1))
    return Flow.objects.get(slug="browse-abandonment")


@pytest.fixture
def ann(db):
    return ContactFactory(first_name="Ann", email="ann@example.com", consents=["email"])


def cart_recovery_running(contact):
    recovery = Flow.objects.get(slug="cart-recovery")
    cart = CartSnapshotFactory(contact=contact, last_activity_at=ago(days=2))
    return Enrollment.objects.create(
        flow=recovery, contact=contact, cart=cart, trigger_key="cart:x", triggered_at=ago(days=2)
    )


def ordered(contact, minutes_ago):
    data = OrderData(order_key=f"o-{minutes_ago}", total=Decimal("30"), email=contact.email)
    order = record_order(data, contact)
    type(order).objects.filter(pk=order.pk).update(placed_at=ago(minutes=minutes_ago))


class TestDetection:
    def test_a_contact_who_stopped_browsing_is_enrolled_once_with_the_products(self, browse, ann):
        viewed(ann, MUG, at=ago(minutes=100))
        teapot = viewed(ann, TEAPOT, at=ago(minutes=70))
        report = detect_abandoned_browsing()
        assert (report.claimed, report.contacts, report.enrolled) == (2, 1, 1)
        enrollment = Enrollment.objects.get(flow=browse)
        assert [p["name"] for p in enrollment.context["products"]] == ["Teapot", "Mug"]
        assert enrollment.context["products"][1] == {
            "product_id": "7",
            "name": "Mug",
            "url": "/products/mug/",
            "image_url": "",
            "price": "12.50",
        }
        # Browsing ended an idle hour after the last view; the reminder goes an hour later.
        assert enrollment.triggered_at == teapot.last_viewed_at + timedelta(minutes=60)
        assert enrollment.next_step_at == enrollment.triggered_at + timedelta(hours=1)
        assert not ProductView.objects.filter(handled_at__isnull=True).exists()
        assert detect_abandoned_browsing().claimed == 0

    def test_a_contact_still_browsing_waits(self, browse, ann):
        viewed(ann, MUG, at=ago(minutes=100))
        viewed(ann, TEAPOT, at=ago(minutes=10))
        assert detect_abandoned_browsing().claimed == 0
        assert ProductView.objects.filter(handled_at__isnull=True).count() == 2

    def test_anonymous_views_wait_for_their_visitor_to_be_known(self, browse):
        viewed(None, MUG, viewer="visitor:1")
        assert detect_abandoned_browsing().claimed == 0

    def test_views_older_than_the_window_are_put_aside_without_a_reminder(self, browse, ann):
        viewed(ann, MUG, at=ago(days=2))
        report = detect_abandoned_browsing()
        assert (report.claimed, report.contacts, report.enrolled) == (1, 0, 0)
        assert ProductView.objects.get().handled_at is not None

    @pytest.mark.parametrize(
        "moved_on",
        [
            lambda ann: CartSnapshotFactory(contact=ann, last_activity_at=ago(minutes=80)),
            lambda ann: ordered(ann, minutes_ago=80),
            cart_recovery_running,
        ],
        ids=["added-to-cart", "ordered", "in-cart-recovery"],
    )
    def test_no_reminder_after_a_cart_an_order_or_during_a_recovery(self, browse, ann, moved_on):
        viewed(ann, MUG, at=ago(minutes=100))
        viewed(ann, TEAPOT, at=ago(minutes=70))
        moved_on(ann)
        report = detect_abandoned_browsing()
        assert (report.contacts, report.skipped, report.enrolled) == (1, 1, 0)
        assert not Enrollment.objects.filter(flow=browse).exists()

    def test_a_cart_or_order_from_before_the_browsing_does_not_count(self, browse, ann):
        CartSnapshotFactory(contact=ann, last_activity_at=ago(hours=5), status="converted")
        ordered(ann, minutes_ago=300)
        viewed(ann, MUG, at=ago(minutes=70))
        assert detect_abandoned_browsing().enrolled == 1

    def test_once_a_week_at_most(self, browse, ann):
        viewed(ann, MUG, at=ago(minutes=70))
        assert detect_abandoned_browsing().enrolled == 1
        viewed(ann, TEAPOT, at=ago(minutes=65))
        report = detect_abandoned_browsing()
        assert (report.contacts, report.enrolled) == (1, 0)


class TestTheShippedFlow:
    def enrolled(self, contact):
        viewed(contact, MUG, at=ago(minutes=125))
        viewed(contact, TEAPOT, at=ago(minutes=121))
        assert detect_abandoned_browsing().enrolled == 1
        return Enrollment.objects.get(flow__slug="browse-abandonment")

    def test_the_reminder_shows_the_products_viewed(self, browse, ann):
        enrollment = self.enrolled(ann)
        due = enrollment.next_step_at
        assert advance_due(now=due - timedelta(seconds=1)).queued == 0
        assert advance_due(now=due).queued == 1
        assert dispatch.dispatch_batch("test", now=due).sent == 1
        [(_channel, _to, rendered, _uuid)] = locmem.outbox
        message = Message.objects.get()
        assert (message.channel, message.purpose, message.source) == (
            "email",
            "marketing",
            "flow:browse-abandonment:1",
        )
        text, html = rendered["text"], rendered["html"]
        assert rendered["subject"] == "Still thinking it over?"
        assert "Hi Ann," in text
        assert text.index("- Teapot (€30.00)") < text.index("- Mug (€12.50)")
        # Each product links to its page (through the click-tracking redirect).
        assert html.count("/omnichannel/c/") >= 2 and ">Teapot</a>" in html and ">Mug</a>" in html
        products = message.context["trigger"]["products"]
        assert [p["url"] for p in products] == ["/products/teapot/", "/products/mug/"]
        assert "/unsubscribe/" in text  # marketing: the way out is in every reminder

    @pytest.mark.parametrize(
        ("locale", "subject", "greeting"),
        [
            ("fr", "Vous hésitez encore\N{NO-BREAK SPACE}?", "Bonjour Ann,"),
            ("ru", "Всё ещё выбираете?", "Здравствуйте, Ann!"),
            ("bg", "Още ли се колебаете?", "Здравейте, Ann!"),
            ("sk-SK", "Ešte váhate?", "Dobrý deň, Ann,"),
        ],
    )
    def test_the_reminder_speaks_the_contact_s_language(self, browse, locale, subject, greeting):
        contact = ContactFactory(first_name="Ann", locale=locale, consents=["email"])
        due = self.enrolled(contact).next_step_at
        advance_due(now=due)
        dispatch.dispatch_batch("test", now=due)
        [(_channel, _to, rendered, _uuid)] = locmem.outbox
        assert rendered["subject"] == subject
        assert greeting in rendered["text"] and "Teapot" in rendered["text"]

    def test_adding_to_the_cart_ends_it_before_the_reminder(self, browse, ann):
        enrollment = self.enrolled(ann)
        CartSnapshotFactory(contact=ann, last_activity_at=ago(minutes=5))
        assert advance_due(now=enrollment.next_step_at).queued == 0
        enrollment.refresh_from_db()
        assert (enrollment.state, enrollment.exit_reason) == (
            "exited",
            ExitGoal.ADDED_TO_CART.label,
        )

    def test_an_order_ends_it_before_the_reminder(self, browse, ann):
        enrollment = self.enrolled(ann)
        ordered(ann, minutes_ago=1)
        assert advance_due(now=enrollment.next_step_at).queued == 0
        enrollment.refresh_from_db()
        assert (enrollment.state, enrollment.exit_reason) == ("exited", ExitGoal.ORDERED.label)

    def test_a_cart_recovery_that_starts_meanwhile_stops_the_queued_reminder(self, browse, ann):
        enrollment = self.enrolled(ann)
        due = enrollment.next_step_at
        assert advance_due(now=due).queued == 1
        cart_recovery_running(ann)
        assert dispatch.dispatch_batch("test", now=due).sent == 0
        message = Message.objects.get(enrollment=enrollment)
        assert message.status == "cancelled"
        assert message.last_error == "left the flow: a cart recovery took over"
        assert locmem.outbox == []

    def test_the_cross_channel_caps_hold_it(self, browse, ann):
        enrollment = self.enrolled(ann)
        due = enrollment.next_step_at
        Message.objects.create(
            idempotency_key="newsletter",
            contact=ann,
            channel="email",
            purpose="marketing",
            status="sent",
            scheduled_at=due - timedelta(hours=2),
            sent_at=due - timedelta(hours=2),
        )
        advance_due(now=due)
        report = dispatch.dispatch_batch("test", now=due)
        assert (report.sent, report.deferred) == (0, 1)
        waiting = Message.objects.get(enrollment=enrollment)
        assert "frequency cap" in waiting.last_error
        assert waiting.scheduled_at == due + timedelta(hours=14)


@pytest.mark.parametrize(
    ("slug", "shown"),
    [
        ("browse-abandonment", ["Linen shirt", "Canvas tote"]),
        ("back-in-stock", ["Linen shirt"]),
        ("price-drop", ["Linen shirt", "59.00", "49.00"]),
    ],
)
def test_the_preview_shows_stand_in_products(slug, shown):
    from omnichannel.flows.preview import sample_contact, template_context
    from omnichannel.outbox.rendering import render_message

    install_defaults()
    step = Flow.objects.get(slug=slug).steps.get()
    content = step.contents.get(channel="email", locale="")
    context = template_context(step, sample_contact(), content)
    message = Message(
        contact=sample_contact(), channel="email", content=content.as_message_content()
    )
    message.context = context
    text = render_message(message)["text"]
    assert all(value in text for value in shown), text


def test_staff_read_views_alerts_and_news_in_the_admin(admin_client):
    from django.urls import reverse

    from omnichannel.browsing import alerts

    ann = ContactFactory(email="ann@example.com")
    viewed(ann, TEAPOT)
    alerts.request_alert(ann, "8")
    alerts.record_event("back_in_stock", TEAPOT)
    for model in ("productview", "productalert", "productevent"):
        page = admin_client.get(reverse(f"admin:omnichannel_{model}_changelist"))
        add = reverse(f"admin:omnichannel_{model}_add")
        assert page.status_code == 200 and add not in page.content.decode()  # read only
        assert ("Teapot" if model != "productalert" else "ann@example.com") in (
            page.content.decode()
        )
