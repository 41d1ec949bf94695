"""After the purchase: the lapse and the win-back sweep, flow priority, the post-purchase
flows (thank-you, cross-sell, review request) and the shipped flows that do it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from omnichannel.browsing.abandonment import detect_abandoned_browsing
from omnichannel.carts.orders import record_order
from omnichannel.carts.winback import detect_lapsed
from omnichannel.flows import validation
from omnichannel.flows.defaults import install_defaults
from omnichannel.flows.engine import Entry, advance_due, enroll_many
from omnichannel.integrations import CartLine, OrderData, track_order_status
from omnichannel.models import Enrollment, Flow, Message, ProductView, StepContent, TrackedOrder
from omnichannel.outbox.dispatch import dispatch_batch
from omnichannel.outbox.rendering import render_message
from omnichannel.testing import FakeOrder
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory
from sample_shop.shop.models import Product

from .conftest import make_flow

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
MUG = CartLine(
    product_id="7",
    name="Stoneware mug",
    quantity=2,
    unit_price=Decimal("12.50"),
    url="/products/mug/",
)


@pytest.fixture
def buy(django_capture_on_commit_callbacks):
    """Record an order as ``track_order`` does, its signal (the flows) included."""

    def buy(contact, key, placed_at, status="paid", lines=(MUG,)):
        data = OrderData(
            order_key=key,
            total=Decimal("25.00"),
            currency="EUR",
            status=status,
            placed_at=placed_at,
            lines=list(lines),
        )
        with django_capture_on_commit_callbacks(execute=True):
            order = record_order(data, contact)
        order.refresh_from_db()  # the lapse is written beside the order
        return order

    return buy


@pytest.fixture
def shipped(db, locmem_channels):
    """The shipped flows, active since long before any order of these tests."""
    install_defaults(activate=True)
    Flow.objects.update(activated_at=timezone.now() - 400 * DAY)
    return locmem_channels


def sent_now(now):
    """Advance the flows and dispatch what is due at ``now``; returns the messages sent."""
    advance_due(now=now)
    dispatch_batch("test", now=now)
    return list(Message.objects.filter(status="sent", sent_at__isnull=False).order_by("pk"))


class TestTheLapse:
    def test_a_purchase_lapses_after_winback_after_days(self, buy):
        placed = timezone.now() - 10 * DAY
        order = buy(ContactFactory(), "1", placed)
        assert order.lapses_at == placed + 90 * DAY

    def test_a_new_purchase_moves_the_lapse_to_itself(self, buy):
        ann, first = ContactFactory(), timezone.now() - 30 * DAY
        buy(ann, "1", first)
        buy(ann, "2", first + 10 * DAY)
        lapses = dict(TrackedOrder.objects.values_list("order_key", "lapses_at"))
        assert lapses == {"1": None, "2": first + 100 * DAY}

    def test_a_regular_buyer_lapses_after_twice_their_own_interval(self, buy):
        ann, start = ContactFactory(), timezone.now() - 200 * DAY
        for number, days in enumerate((0, 60, 120, 170)):  # intervals 60, 60, 50: median 60
            buy(ann, str(number), start + days * DAY)
        assert TrackedOrder.objects.get(order_key="3").lapses_at == start + (170 + 120) * DAY

    def test_a_frequent_buyer_still_waits_winback_after_days(self, buy):
        ann, start = ContactFactory(), timezone.now() - 30 * DAY
        for number, days in enumerate((0, 10, 20)):
            buy(ann, str(number), start + days * DAY)
        assert TrackedOrder.objects.get(order_key="2").lapses_at == start + 110 * DAY

    def test_fewer_orders_than_winback_min_orders_use_the_days(self, buy, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "WINBACK_MIN_ORDERS": 4}
        ann, start = ContactFactory(), timezone.now() - 300 * DAY
        for number, days in enumerate((0, 100, 200)):
            buy(ann, str(number), start + days * DAY)
        assert TrackedOrder.objects.get(order_key="2").lapses_at == start + 290 * DAY

    def test_an_order_awaiting_payment_lapses_nothing_until_paid(self, buy, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "PURCHASE_ORDER_STATUSES": ["paid"]}
        ann, placed = ContactFactory(), timezone.now() - DAY
        assert buy(ann, "1", placed, status="pending").lapses_at is None
        assert buy(ann, "1", placed, status="paid").lapses_at == placed + 90 * DAY


class TestTheSweep:
    @pytest.fixture
    def winback(self, db):
        install_defaults(activate=True)
        Flow.objects.update(activated_at=timezone.now() - 400 * DAY)
        return Flow.objects.get(slug="win-back")

    def test_lapsed_buyers_with_consent_enrol_once_per_lapse(self, winback, buy):
        now, placed = timezone.now(), timezone.now() - 100 * DAY
        ann = ContactFactory(consents=["email"])
        buy(ann, "ann-1", placed)
        buy(ContactFactory(), "bob-1", placed)  # no marketing consent
        buy(ContactFactory(consents=["email"]), "cy-1", now - 80 * DAY)  # not lapsed yet

        report = detect_lapsed(now=now)
        assert (report.claimed, report.unreachable, report.enrolled) == (2, 1, 1)
        enrollment = Enrollment.objects.get(flow=winback)
        order = TrackedOrder.objects.get(order_key="ann-1")
        assert enrollment.contact == ann and enrollment.trigger_key == f"lapse:{order.pk}"
        assert enrollment.triggered_at == placed + 90 * DAY
        assert enrollment.context == {"last_order": "ann-1"}
        assert detect_lapsed(now=now).claimed == 0  # the lapse is spent

    def test_a_lapse_from_before_the_flow_was_activated_sends_nothing(self, winback, buy):
        now = timezone.now()
        Flow.objects.filter(pk=winback.pk).update(activated_at=now - DAY)
        buy(ContactFactory(consents=["email"]), "1", now - 100 * DAY)  # lapsed 10 days ago
        report = detect_lapsed(now=now)
        assert (report.claimed, report.enrolled) == (1, 0)

    def test_a_buyer_lapses_again_after_a_later_order(self, winback, buy):
        now, ann = timezone.now(), ContactFactory(consents=["email"])
        buy(ann, "1", now - 300 * DAY)
        detect_lapsed(now=now - 200 * DAY)
        buy(ann, "2", now - 150 * DAY)  # came back: the first win-back ends ...
        winbacks = Enrollment.objects.filter(flow=winback)
        assert list(winbacks.values_list("state", flat=True)) == ["exited"]
        assert detect_lapsed(now=now).enrolled == 1  # ... and the new lapse starts another
        assert winbacks.filter(state="active").count() == 1

    def test_a_batch_costs_the_same_statements_whatever_its_size(self, winback, buy):
        placed = timezone.now() - 100 * DAY

        def statements(buyers):
            for number in range(buyers):
                buy(ContactFactory(consents=["email"]), f"{buyers}-{number}", placed)
            with CaptureQueriesContext(connection) as queries:
                assert detect_lapsed().enrolled == buyers
            return len(queries)

        assert statements(2) == statements(7)


class TestTheWinBack:
    def test_the_series_goes_after_the_lapse_in_french_and_stops_at_the_next_order(
        self, shipped, buy
    ):
        now = timezone.now()
        Product.objects.create(name="Linen apron", slug="apron", price=Decimal("24"), sku="APR")
        ann = ContactFactory(first_name="Anne", locale="fr", consents=["email"])
        Flow.objects.filter(kind="post_purchase").update(status="paused")  # not this test's
        buy(ann, "1", now - 91 * DAY)
        assert detect_lapsed(now=now).enrolled == 1

        [hello] = sent_now(now)
        rendered = render_message(hello)
        assert hello.source == "flow:win-back:1" and hello.purpose == "marketing"
        assert rendered["subject"].startswith("Cela fait un moment")
        assert "Bonjour Anne," in rendered["text"] and "Linen apron" in rendered["html"]

        gift = sent_now(now + 7 * DAY + timedelta(seconds=1))[-1]
        rendered = render_message(gift)
        code = gift.enrollment.offer_code
        assert code.startswith("COMEBACK") and code in rendered["text"]
        assert rendered["subject"] == "15 % de remise sur votre prochaine commande"

        back = buy(ann, "2", now + 8 * DAY)  # she orders: the win-back ends
        enrollment = Enrollment.objects.get(flow__slug="win-back")
        assert (enrollment.state, enrollment.exit_reason) == ("exited", "Placed an order")
        assert advance_due(now=now + 20 * DAY).queued == 0
        assert back.lapses_at == now + 98 * DAY  # and her next lapse is set


class TestFlowPriority:
    @pytest.fixture
    def ann(self):
        return ContactFactory(consents=["email", "inbox"])

    def flow(self, slug, priority, channel="email", delay=timedelta(0)):
        return make_flow(
            name=slug.title(),
            slug=slug,
            kind="custom",
            trigger="custom_event",
            trigger_event=slug,
            priority=priority,
            exit_goals=[],
            steps=[(slug, delay, channel)],
        )

    def enrol(self, flow, contact, at):
        enroll_many(flow, [Entry(contact, f"{flow.slug}:{contact.pk}", at)])

    def statuses(self):
        return dict(Message.objects.values_list("enrollment__flow__slug", "status"))

    def test_a_lower_flow_waits_a_day_after_a_higher_ones_message(self, locmem_channels, ann):
        now = timezone.now()
        self.enrol(self.flow("browse", 20, "email"), ann, now)
        self.enrol(self.flow("win-back", 10, "inbox"), ann, now)
        advance_due(now=now)
        dispatch_batch("test", now=now)

        assert self.statuses() == {"browse": "sent", "win-back": "queued"}
        held = Message.objects.get(enrollment__flow__slug="win-back")
        assert held.last_error == "flow priority: 'Browse' goes first"
        assert held.scheduled_at == now + DAY
        # A day later the win-back may go (it has not expired yet).
        dispatch_batch("test", now=now + DAY + timedelta(seconds=1))
        assert self.statuses() == {"browse": "sent", "win-back": "sent"}

    def test_a_higher_flow_is_not_held_back_by_a_lower_ones_message(self, locmem_channels, ann):
        now = timezone.now()
        self.enrol(self.flow("win-back", 10, "inbox"), ann, now - timedelta(hours=2))
        advance_due(now=now - timedelta(hours=2))
        dispatch_batch("test", now=now - timedelta(hours=2))
        self.enrol(self.flow("browse", 20, "email"), ann, now)
        advance_due(now=now)
        dispatch_batch("test", now=now)
        assert self.statuses() == {"browse": "sent", "win-back": "sent"}

    def test_flows_of_the_same_priority_do_not_hold_each_other(self, locmem_channels, ann):
        now = timezone.now()
        self.enrol(self.flow("one", 10, "email"), ann, now)
        self.enrol(self.flow("two", 10, "inbox"), ann, now)
        advance_due(now=now)
        dispatch_batch("test", now=now)
        assert self.statuses() == {"one": "sent", "two": "sent"}

    def test_a_higher_flows_step_due_within_the_day_holds_a_lower_one(self, locmem_channels, ann):
        now = timezone.now()
        self.enrol(self.flow("browse", 20, "email", delay=timedelta(hours=3)), ann, now)
        self.enrol(self.flow("win-back", 10, "inbox"), ann, now)
        advance_due(now=now)
        dispatch_batch("test", now=now)
        held = Message.objects.get()
        assert held.status == "queued" and held.last_error == "flow priority: 'Browse' goes first"
        assert held.scheduled_at == now + timedelta(hours=3) + DAY

    def test_the_window_is_a_setting(self, locmem_channels, ann, settings):
        settings.OMNICHANNEL = {**settings.OMNICHANNEL, "FLOW_PRIORITY_WINDOW_HOURS": 2}
        now = timezone.now()
        self.enrol(self.flow("browse", 20, "email", delay=timedelta(hours=3)), ann, now)
        self.enrol(self.flow("win-back", 10, "inbox"), ann, now)
        advance_due(now=now)
        dispatch_batch("test", now=now)
        assert self.statuses() == {"win-back": "sent"}  # browse is 3 h away: outside 2 h

    def test_only_marketing_is_held_back(self, locmem_channels, ann, buy, shipped):
        now = timezone.now()
        self.enrol(self.flow("browse", 20, "inbox"), ann, now)
        buy(ann, "1", now)  # the thank-you is part of the order
        advance_due(now=now)
        dispatch_batch("test", now=now)
        assert self.statuses() == {"browse": "sent", "post-purchase": "sent"}

    def lapsed_and_browsed(self, contact, now, buy):
        """``contact``'s win-back due at ``now`` and, through the real browse sweep, their
        browse reminder due since an hour before: products viewed 4 hours ago."""
        Flow.objects.filter(kind="post_purchase").update(status="paused")  # not this test's
        buy(contact, "old", now - 100 * DAY)
        detect_lapsed(now=now)
        ProductView.objects.create(
            viewer=f"contact:{contact.pk}",
            contact=contact,
            product_id="7",
            name="Stoneware mug",
            url="/products/mug/",
            price=Decimal("12.50"),
            first_viewed_at=now - 4 * HOUR,
            last_viewed_at=now - 4 * HOUR,
        )
        assert detect_abandoned_browsing(now=now - 175 * MINUTE).enrolled == 1
        browsing = Enrollment.objects.get(flow__slug="browse-abandonment")
        assert browsing.next_step_at == now - 2 * HOUR

    def test_the_shipped_browse_flow_sits_between_cart_recovery_and_win_back(self, shipped):
        priority = dict(Flow.objects.values_list("slug", "priority"))
        assert priority["cart-recovery"] > priority["browse-abandonment"] > priority["win-back"]
        assert priority["browse-abandonment"] > priority["post-purchase"]

    def test_same_day_cart_browse_and_win_back_only_the_cart_reminder_goes(self, shipped, ann, buy):
        now = timezone.now()
        self.lapsed_and_browsed(ann, now, buy)
        # After the browsing, a cart: abandoned, its recovery's first reminder due now too.
        idle = now - 2 * HOUR
        cart = CartSnapshotFactory(contact=ann, status="abandoned", last_activity_at=idle)
        abandoned = Entry(ann, f"cart:{cart.uuid}", idle + 30 * MINUTE, cart)
        enroll_many(Flow.objects.get(slug="cart-recovery"), [abandoned])
        advance_due(now=now)
        dispatch_batch("test", now=now)

        assert self.statuses() == {"cart-recovery": "sent", "win-back": "queued"}
        # The running cart recovery ends the browse abandonment before its reminder ...
        browsing = Enrollment.objects.get(flow__slug="browse-abandonment")
        assert (browsing.state, browsing.exit_reason) == ("exited", "Added to the cart")
        # ... and holds the win-back back, whatever the priorities.
        held = Message.objects.get(enrollment__flow__slug="win-back")
        assert held.last_error == "the contact is in a cart recovery"

    def test_same_day_browse_and_win_back_only_the_browse_reminder_goes(self, shipped, ann, buy):
        now = timezone.now()
        self.lapsed_and_browsed(ann, now, buy)
        advance_due(now=now)
        dispatch_batch("test", now=now)

        assert self.statuses() == {"browse-abandonment": "sent", "win-back": "queued"}
        held = Message.objects.get(enrollment__flow__slug="win-back")
        assert held.last_error == "flow priority: 'Browse abandonment' goes first"
        assert held.scheduled_at == now + DAY  # a day after the browse reminder went


class TestPostPurchase:
    def test_the_thank_you_goes_without_marketing_consent_and_lists_the_order(self, shipped, buy):
        now, ann = timezone.now(), ContactFactory(first_name="Ann")
        buy(ann, "1001", now)
        [thanks] = sent_now(now)
        assert (thanks.source, thanks.purpose) == ("flow:post-purchase:1", "transactional")
        rendered = render_message(thanks)
        assert rendered["subject"] == "Thank you for your order 1001"
        assert "- Stoneware mug x 2" in rendered["text"]
        # It belongs to the order, and says so; its footer, like every block email's, still
        # offers to stop the marketing ones.
        for part in (rendered["text"], rendered["html"]):
            assert "You receive this email about your order at Sample Shop." in part
        # A week later, the cross-sell is marketing: without consent it does not go.
        sent_now(now + 7 * DAY + timedelta(seconds=1))
        cross_sell = Message.objects.get(step__position=1)
        assert cross_sell.status == "cancelled"
        assert cross_sell.last_error == "no marketing consent for this channel"

    def test_the_thank_you_speaks_the_buyers_language(self, shipped, buy):
        now = timezone.now()
        buy(ContactFactory(locale="sk"), "1001", now)
        [thanks] = sent_now(now)
        assert render_message(thanks)["subject"] == "Ďakujeme za vašu objednávku 1001"

    def test_the_cross_sell_recommends_beside_what_was_bought(self, shipped, buy):
        now, ann = timezone.now(), ContactFactory(consents=["email"])
        Product.objects.create(name="Linen apron", slug="apron", price=Decimal("24"), sku="APR")
        buy(ann, "1001", now)
        sent_now(now)
        cross_sell = sent_now(now + 7 * DAY + timedelta(seconds=1))[-1]
        assert cross_sell.source == "flow:post-purchase:2"
        assert [p["name"] for p in cross_sell.context["recommendations"]] == ["Linen apron"]
        assert "Linen apron" in render_message(cross_sell)["html"]

    def test_a_running_cart_recovery_holds_the_cross_sell_back(self, shipped, buy):
        now, ann = timezone.now(), ContactFactory(consents=["email"])
        buy(ann, "1001", now - 7 * DAY)
        sent_now(now - 7 * DAY)  # the thank-you
        cart = CartSnapshotFactory(contact=ann, status="abandoned")
        Enrollment.objects.create(
            flow=Flow.objects.get(slug="cart-recovery"),
            contact=ann,
            cart=cart,
            trigger_key=f"cart:{cart.uuid}",
            triggered_at=now,
            next_step_at=now + timedelta(hours=1),
        )
        sent_now(now + timedelta(seconds=1))
        cross_sell = Message.objects.get(step__position=1)
        assert cross_sell.status == "queued"
        assert cross_sell.last_error == "the contact is in a cart recovery"

    def test_each_order_has_its_own_thank_you(self, shipped, buy):
        now, ann = timezone.now(), ContactFactory()
        buy(ann, "1", now - DAY)
        buy(ann, "2", now)
        keys = Enrollment.objects.filter(flow__slug="post-purchase").values_list(
            "context", flat=True
        )
        assert sorted(context["order"]["number"] for context in keys) == ["1", "2"]

    def test_delivery_starts_the_review_request_with_the_shops_links(self, shipped, buy):
        now, ann = timezone.now(), ContactFactory(consents=["email"])
        buy(ann, "1001", now - 5 * DAY)
        buy(ann, "1001", now - 5 * DAY, status="delivered")
        buy(ann, "1001", now - 5 * DAY, status="complete")  # delivered already: once
        [enrollment] = Enrollment.objects.filter(flow__slug="review-request")
        [line] = enrollment.context["order"]["lines"]
        assert line["review_url"] == "https://shop.example.com/products/mug/"

        advance_due(now=now)
        review = sent_now(now + 3 * DAY + timedelta(seconds=1))[-1]
        assert review.source == "flow:review-request:1" and review.purpose == "marketing"
        rendered = render_message(review)
        assert rendered["subject"] == "How do you like your order?"
        assert "Stoneware mug" in rendered["html"] and "Write a review" in rendered["html"]
        assert "products/mug/" in rendered["text"]

    def test_no_review_request_without_consent(self, shipped, buy):
        now, ann = timezone.now(), ContactFactory()
        buy(ann, "1001", now - 5 * DAY, status="delivered")
        advance_due(now=now)
        sent_now(now + 3 * DAY + timedelta(seconds=1))
        review = Message.objects.get(enrollment__flow__slug="review-request")
        assert review.status == "cancelled"

    def test_track_order_status_reports_a_change_the_order_does_not_carry_yet(
        self, settings, shipped, django_capture_on_commit_callbacks
    ):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "SHOP_ADAPTER": "omnichannel.testing.FakeAdapter",
        }
        order = FakeOrder("1001", Decimal("25.00"), email="ann@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            track_order_status(order, "paid")
        with django_capture_on_commit_callbacks(execute=True):
            track_order_status(order, "delivered")
        assert TrackedOrder.objects.get().status == "delivered"
        assert Enrollment.objects.filter(flow__slug="review-request").count() == 1


class TestTheShippedFlows:
    def test_they_pass_their_own_activation_checks(self, db):
        install_defaults(activate=True)
        assert set(Flow.objects.values_list("status", flat=True)) == {"active"}

    def test_each_of_their_emails_speaks_five_languages(self, db):
        install_defaults()
        slugs = ("post-purchase", "review-request", "win-back")
        for flow in Flow.objects.filter(slug__in=slugs):
            for step in flow.steps.all():
                languages = StepContent.objects.filter(step=step).values_list("locale", flat=True)
                assert sorted(languages) == ["", "bg", "fr", "ru", "sk"], step

    def test_their_priorities_put_cart_recovery_first(self, db):
        install_defaults()
        assert list(Flow.objects.values_list("slug", "priority")) == [
            ("cart-recovery", 30),
            ("back-in-stock", 25),
            ("price-drop", 25),
            ("browse-abandonment", 20),
            ("review-request", 15),
            ("post-purchase", 15),
            ("win-back", 10),
            ("welcome", 0),
        ]

    def test_only_the_thank_you_is_transactional(self, db):
        install_defaults()
        transactional = Flow.objects.filter(steps__transactional=True).values_list(
            "slug", "steps__name"
        )
        assert list(transactional) == [("post-purchase", "Thank you for the order")]


class TestTransactionalSteps:
    def problems(self, flow):
        return [problem.text for problem in validation.blocking(flow)]

    def test_outside_a_flow_started_by_an_order_it_blocks_activation(self, db):
        flow = make_flow()
        flow.steps.update(transactional=True)
        assert self.problems(flow) == [
            "Step 1 “Welcome” is marked transactional, but only a flow started by an order "
            "can send one."
        ]

    def test_with_an_offer_it_blocks_activation(self, db):
        flow = make_flow(kind="post_purchase", trigger="order_placed", exit_goals=[])
        flow.steps.update(transactional=True, offer_kind="percent", offer_value=10)
        assert self.problems(flow) == [
            "Step 1 “Welcome” is marked transactional, but a discount is marketing: remove "
            "the offer."
        ]

    def test_recommended_products_in_its_blocks_block_activation(self, db):
        install_defaults()
        flow = Flow.objects.get(slug="post-purchase")
        assert self.problems(flow) == []
        thanks = StepContent.objects.get(step__flow=flow, step__transactional=True, locale="fr")
        thanks.blocks = [*thanks.blocks[:-1], {"type": "recommendations"}, thanks.blocks[-1]]
        thanks.save()
        assert self.problems(flow) == [
            "Step 1 “Thank you for the order” is marked transactional, but recommended "
            "products are marketing: take them out of its content."
        ]
