"""The flow engine: who enters, what each step queues, and who leaves."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from omnichannel.contacts.consent import withdraw_consent
from omnichannel.contacts.identity import mark_signed_up
from omnichannel.flows.conditions import validate
from omnichannel.flows.engine import advance_due, enroll, exit_for_goal, trigger
from omnichannel.flows.events import track_event
from omnichannel.models import Enrollment, Message, StepContent, StepVariant, TrackedOrder
from omnichannel.outbox import dispatch
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory
from sample_shop.shop.models import DiscountCode

from ..conftest import LOCMEM
from .conftest import make_flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann():
    return ContactFactory(first_name="Ann", phone="+33612345678", consents=["email", "sms"])


def later(**delta):
    return timezone.now() + timedelta(**delta)


def place_order(contact, at=None):
    return TrackedOrder.objects.create(
        order_key=f"o-{contact.pk}-{TrackedOrder.objects.count()}",
        contact=contact,
        total=Decimal("30"),
        currency="EUR",
        placed_at=at or timezone.now(),
    )


class TestEntering:
    def test_a_trigger_fired_twice_enrols_once(self, welcome, ann):
        assert enroll(welcome, ann, trigger_key="signup:1") is not None
        assert enroll(welcome, ann, trigger_key="signup:1") is None
        assert Enrollment.objects.count() == 1

    def test_only_triggers_after_activation_enrol(self, ann):
        flow = make_flow(activated_at=timezone.now())
        before = timezone.now() - timedelta(hours=1)
        assert enroll(flow, ann, trigger_key="old", triggered_at=before) is None
        assert enroll(flow, ann, trigger_key="new") is not None

    def test_draft_and_paused_flows_enrol_nobody(self, ann):
        for status in ("draft", "paused", "archived"):
            flow = make_flow(slug=f"f-{status}", status=status)
            assert enroll(flow, ann, trigger_key=status) is None

    def test_once_per_contact_without_cooldown(self, welcome, ann):
        enroll(welcome, ann, trigger_key="a")
        assert enroll(welcome, ann, trigger_key="b") is None

    def test_reentry_after_the_cooldown(self, ann):
        flow = make_flow(reentry_cooldown=timedelta(days=30))
        first = enroll(flow, ann, trigger_key="a")
        assert enroll(flow, ann, trigger_key="b") is None  # still active
        Enrollment.objects.filter(pk=first.pk).update(
            state="completed", enrolled_at=timezone.now() - timedelta(days=31)
        )
        assert enroll(flow, ann, trigger_key="c") is not None

    def test_entry_conditions(self, ann):
        flow = make_flow(
            conditions=validate([{"name": "country_in", "params": {"countries": "BE"}}])
        )
        assert enroll(flow, ann, trigger_key="a") is None  # Ann's phone is French
        flow.conditions = validate([{"name": "country_in", "params": {"countries": "FR, BE"}}])
        flow.save()
        assert enroll(flow, ann, trigger_key="b") is not None

    def test_a_reached_goal_keeps_them_out(self, welcome, ann):
        place_order(ann)
        assert (
            enroll(
                welcome, ann, trigger_key="a", triggered_at=timezone.now() - timedelta(minutes=1)
            )
            is None
        )

    def test_holdout_receives_nothing(self, ann):
        flow = make_flow(holdout_percent=50)
        states = set()
        for i in range(40):
            contact = ContactFactory(consents=["email"])
            states.add(enroll(flow, contact, trigger_key=f"k{i}").state)
        assert states == {"active", "held_out"}
        advance_due(now=later(minutes=1))
        held = Enrollment.objects.filter(state="held_out")
        assert not Message.objects.filter(contact__enrollments__in=held).exists()


class TestSteps:
    def test_each_step_queues_one_message_at_its_delay(self, welcome, ann):
        enrollment = enroll(welcome, ann, trigger_key="a")
        assert advance_due().queued == 1
        assert advance_due(now=later(days=1)).queued == 0  # step 2 waits 2 days
        assert advance_due(now=later(days=2, minutes=1)).queued == 1
        enrollment.refresh_from_db()
        assert enrollment.next_step_at == pytest.approx(
            later(days=7, minutes=1), abs=timedelta(seconds=5)
        )
        assert advance_due(now=later(days=7, minutes=2)).queued == 1
        enrollment.refresh_from_db()
        assert enrollment.state == "completed" and enrollment.ended_at
        steps = list(Message.objects.order_by("id").values_list("step__name", flat=True))
        assert steps == ["Hello", "Reminder", "Last nudge"]

    def test_advancing_twice_queues_once(self, welcome, ann):
        enrollment = enroll(welcome, ann, trigger_key="a")
        advance_due()
        Enrollment.objects.filter(pk=enrollment.pk).update(
            next_step=welcome.steps.get(position=0), next_step_at=timezone.now()
        )
        advance_due()
        assert Message.objects.count() == 1  # idempotency key (enrollment, step)

    def test_paused_flow_waits_and_resumes(self, welcome, ann):
        enroll(welcome, ann, trigger_key="a")
        welcome.status = "paused"
        welcome.save()
        assert advance_due().claimed == 0
        welcome.status = "active"
        welcome.save()
        assert advance_due().queued == 1

    def test_step_conditions_skip_the_step(self, ann):
        flow = make_flow(
            steps=[("Only BE", timedelta(0), "email"), ("Everyone", timedelta(0), "email")]
        )
        first = flow.steps.get(position=0)
        first.conditions = validate([{"name": "country_in", "params": {"countries": "BE"}}])
        first.save()
        enroll(flow, ann, trigger_key="a")
        first, second = advance_due(), advance_due()
        assert (first.queued, first.skipped, second.queued) == (0, 1, 1)
        assert Message.objects.get().step.name == "Everyone"

    def test_best_channel_falls_back_in_preference_order(self, settings):
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "CHANNEL_BACKENDS": dict.fromkeys(("email", "sms", "push"), LOCMEM),
        }
        flow = make_flow(steps=[("Nudge", timedelta(0), "best")])
        sms_only = ContactFactory(phone="+33612345678", consents=["sms"])
        sms_only.attributes = {"preferred_channels": ["push", "sms", "email"]}
        sms_only.save()
        nobody = ContactFactory()  # no consent anywhere: step skipped
        enroll(flow, sms_only, trigger_key="a")
        enroll(flow, nobody, trigger_key="b")
        advance_due()
        assert list(Message.objects.values_list("contact", "channel")) == [(sms_only.pk, "sms")]

    def test_content_follows_the_contact_language(self, welcome):
        step = welcome.steps.get(position=0)
        StepContent.objects.create(step=step, channel="email", locale="fr", subject="Bonjour")
        french = ContactFactory(locale="fr-CA", consents=["email"])
        german = ContactFactory(locale="de", consents=["email"])
        enroll(welcome, french, trigger_key="fr")
        enroll(welcome, german, trigger_key="de")
        advance_due()
        subjects = dict(Message.objects.values_list("contact", "content__subject"))
        assert subjects[french.pk] == "Bonjour"
        assert subjects[german.pk].startswith("Hello")  # default language

    def test_variants_are_weighted_and_sticky(self, welcome):
        step = welcome.steps.get(position=0)
        a = StepVariant.objects.create(step=step, name="A", weight=1)
        b = StepVariant.objects.create(step=step, name="B", weight=3)
        for variant in (a, b):
            StepContent.objects.create(
                step=step, variant=variant, channel="email", subject=variant.name
            )
        for i in range(80):
            enroll(welcome, ContactFactory(consents=["email"]), trigger_key=f"k{i}")
        advance_due()
        counts = {name: Message.objects.filter(variant__name=name).count() for name in "AB"}
        assert counts["A"] + counts["B"] == 80 and counts["B"] > counts["A"] > 0
        message = Message.objects.filter(variant=b).first()
        assert message.content["subject"] == "B"
        assert message.enrollment.variants[str(step.pk)] == b.pk

    def test_offer_is_created_once_and_reused(self, ann):
        flow = make_flow(
            steps=[("Gift", timedelta(0), "email"), ("Reminder", timedelta(days=1), "email")]
        )
        for step in flow.steps.all():
            step.offer_kind, step.offer_value, step.offer_prefix = (
                "percent",
                Decimal("10"),
                "WELCOME",
            )
            step.offer_valid_for = timedelta(days=3)
            step.save()
        enroll(flow, ann, trigger_key="a")
        advance_due()
        advance_due(now=later(days=1, minutes=1))
        codes = [m.context["discount"]["code"] for m in Message.objects.order_by("id")]
        assert codes[0] == codes[1] and codes[0].startswith("WELCOME")
        code = DiscountCode.objects.get()
        assert (code.email, code.value) == (ann.email, Decimal("10"))

    def test_an_expired_offer_is_regenerated(self, ann):
        flow = make_flow(
            steps=[("Gift", timedelta(0), "email"), ("Again", timedelta(days=5), "email")]
        )
        flow.steps.update(
            offer_kind="percent", offer_value=Decimal("10"), offer_valid_for=timedelta(days=2)
        )
        enroll(flow, ann, trigger_key="a")
        advance_due()
        advance_due(now=later(days=5, minutes=1))
        codes = [m.context["discount"]["code"] for m in Message.objects.order_by("id")]
        assert codes[0] != codes[1]
        assert DiscountCode.objects.count() == 2

    def test_cart_lines_reach_the_templates(self, ann):
        flow = make_flow(kind="cart_recovery", trigger="cart_abandoned", slug="cart")
        cart = CartSnapshotFactory(
            contact=ann, last_activity_at=timezone.now() - timedelta(hours=1)
        )
        enroll(flow, ann, trigger_key="cart:1", cart=cart, triggered_at=timezone.now())
        advance_due()
        context = Message.objects.get().context
        assert context["cart"]["lines"][0]["name"] == "Mug"
        assert context["cart"]["value"] == "25.00"


class TestLeaving:
    def test_an_order_exits_and_cancels_what_waits(
        self, welcome, ann, django_capture_on_commit_callbacks
    ):
        enrollment = enroll(welcome, ann, trigger_key="a")
        advance_due()
        queued = Message.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            from omnichannel.carts.orders import record_order
            from omnichannel.integrations import OrderData

            record_order(OrderData(order_key="o1", total=Decimal("20"), currency="EUR"), ann)
        enrollment.refresh_from_db()
        queued.refresh_from_db()
        assert enrollment.state == "exited" and enrollment.exit_reason == "Placed an order"
        assert queued.status == "cancelled"

    def test_the_dispatcher_rechecks_the_goal_at_send_time(self, welcome, ann, settings):
        """Even when the exit signal was missed, an order stops the message before sending."""
        settings.OMNICHANNEL = {
            **settings.OMNICHANNEL,
            "CHANNEL_BACKENDS": {"email": LOCMEM},
        }
        enroll(welcome, ann, trigger_key="a", triggered_at=timezone.now() - timedelta(minutes=5))
        advance_due()
        place_order(ann)  # recorded without the signal
        dispatch.sweep()
        message = Message.objects.get()
        assert (message.status, message.last_error) == (
            "cancelled",
            "left the flow: placed an order",
        )

    def test_the_sweeper_rechecks_goals_before_each_step(self, welcome, ann):
        enrollment = enroll(welcome, ann, trigger_key="a")
        advance_due()
        place_order(ann)
        report = advance_due(now=later(days=3))
        enrollment.refresh_from_db()
        assert (report.exited, enrollment.state) == (1, "exited")
        assert Message.objects.count() == 1

    def test_unsubscribing_everywhere_exits(self, ann, django_capture_on_commit_callbacks):
        flow = make_flow(exit_goals=["unsubscribed"])
        enrollment = enroll(flow, ann, trigger_key="a")
        with django_capture_on_commit_callbacks(execute=True):
            withdraw_consent(ann, "email")
        enrollment.refresh_from_db()
        assert enrollment.state == "active"  # SMS consent remains
        with django_capture_on_commit_callbacks(execute=True):
            withdraw_consent(ann, "sms")
        enrollment.refresh_from_db()
        assert enrollment.state == "exited"

    def test_exit_for_goal_ignores_flows_without_that_goal(self, ann):
        flow = make_flow(exit_goals=[])
        enrollment = enroll(flow, ann, trigger_key="a")
        assert exit_for_goal(ann, "ordered") == 0
        enrollment.refresh_from_db()
        assert enrollment.state == "active"


class TestTriggers:
    def test_signup_starts_the_welcome_series(self, welcome, django_capture_on_commit_callbacks):
        contact = ContactFactory(consents=["email"])
        with django_capture_on_commit_callbacks(execute=True):
            mark_signed_up(contact)
        assert Enrollment.objects.get().contact == contact

    def test_first_order_trigger_fires_once(self, ann, django_capture_on_commit_callbacks):
        flow = make_flow(trigger="first_order", exit_goals=[], slug="thanks")
        from omnichannel.carts.orders import record_order
        from omnichannel.integrations import OrderData

        with django_capture_on_commit_callbacks(execute=True):
            record_order(OrderData(order_key="o1", total=Decimal("20"), currency="EUR"), ann)
        with django_capture_on_commit_callbacks(execute=True):
            record_order(OrderData(order_key="o2", total=Decimal("20"), currency="EUR"), ann)
        assert list(Enrollment.objects.values_list("flow", flat=True)) == [flow.pk]

    def test_custom_events_start_custom_flows(self, ann):
        flow = make_flow(trigger="custom_event", trigger_event="wishlist_added", slug="wish")
        other = make_flow(trigger="custom_event", trigger_event="reviewed", slug="review")
        [enrollment] = track_event("wishlist_added", ann, key="w1", properties={"product": "Mug"})
        assert enrollment.flow == flow and enrollment.context == {"product": "Mug"}
        assert track_event("wishlist_added", ann, key="w1") == []  # same key: once
        assert not other.enrollments.exists()

    def test_trigger_enrols_in_every_matching_flow(self, ann):
        make_flow(slug="a")
        make_flow(slug="b")
        make_flow(slug="c", trigger="popup_subscribed")
        assert len(trigger("signup", ann, key="signup:ann")) == 2


def test_consent_is_still_the_dispatchers_job(welcome, settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "CHANNEL_BACKENDS": {"email": LOCMEM},
    }
    stranger = ContactFactory()  # no consent: the step queues, the dispatcher refuses
    enroll(welcome, stranger, trigger_key="a")
    advance_due()
    dispatch.sweep()
    assert Message.objects.get().status == "cancelled"


def test_queued_messages_of_a_paused_flow_wait(welcome, ann, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "CHANNEL_BACKENDS": {"email": LOCMEM}}
    enroll(welcome, ann, trigger_key="a")
    advance_due()
    welcome.status = "paused"
    welcome.save()
    assert dispatch.sweep().deferred == 1
    message = Message.objects.get()
    assert (message.status, message.last_error) == ("queued", "the flow is paused")
    welcome.status = "archived"
    welcome.save()
    Message.objects.update(scheduled_at=timezone.now())
    dispatch.sweep()
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("cancelled", "the flow was archived")
