"""Previews of a step for a contact, and the dry-run timeline of a flow."""

import datetime as dt
from datetime import timedelta
from decimal import Decimal

import pytest

from omnichannel.flows import preview
from omnichannel.flows.conditions import validate
from omnichannel.flows.preview import dry_run, dry_run_enrolled, preview_step, sample_contact
from omnichannel.models import Enrollment, StepContent, StepVariant, Suppression, TrackedOrder
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

from .conftest import make_flow

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def step():
    flow = make_flow(steps=[("Hello", timedelta(0), "email")], trigger="cart_abandoned")
    step = flow.steps.get()
    step.offer_kind, step.offer_value, step.offer_prefix = "percent", Decimal("10"), "WELCOME"
    step.save()
    step.refresh_from_db()
    content = step.contents.get()
    content.subject = "{{ contact.first_name }}, {{ discount.value }} % off"
    content.html = (
        "<p>Hi {{ contact.first_name }}: {{ discount.code }}</p>"
        "{% for line in cart.lines %}<li>{{ line.name }}</li>{% endfor %}"
        "{% for product in recommendations %}<i>{{ product.name }}</i>{% endfor %}"
    )
    content.save()
    return step


class TestPreview:
    def test_renders_for_a_contact_with_placeholders_for_send_time_values(self, step):
        ann = ContactFactory(first_name="Ann")
        [email] = preview_step(step, ann)
        parts = {part.name: part.value for part in email.parts}
        assert parts["subject"] == "Ann, 10.00 % off"
        assert "Hi Ann: WELCOMEPREVIEW" in parts["html"]
        assert "<li>Linen shirt</li>" in parts["html"]  # the sample cart: Ann has none
        assert "<i>Wool scarf</i>" in parts["html"]  # the shop recommends nothing here
        assert list(parts) == ["subject", "text", "html"]  # the email's parts, in order

    def test_the_contacts_own_cart_replaces_the_sample(self, step):
        ann = ContactFactory(first_name="Ann")
        CartSnapshotFactory(contact=ann)
        [email] = preview_step(step, ann)
        html = next(p.value for p in email.parts if p.name == "html")
        assert "<li>Mug</li>" in html and "Linen shirt" not in html

    def test_customer_data_is_escaped_in_html_but_not_in_plain_text(self, step):
        mallory = ContactFactory(first_name="<b>Tom & Jerry</b>")
        [email] = preview_step(step, mallory)
        parts = {part.name: part.value for part in email.parts}
        assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in parts["html"]
        assert parts["subject"].startswith("<b>Tom & Jerry</b>,")

    def test_a_broken_template_shows_its_error_beside_the_parts_that_work(self, step):
        StepContent.objects.filter(step=step).update(text="{% if %}")
        [email] = preview_step(step, sample_contact())
        [broken] = email.errors
        assert broken.name == "text" and "if" in broken.error
        assert next(p.value for p in email.parts if p.name == "subject").startswith("Alex,")

    def test_sms_counts_its_segments(self, step):
        StepContent.objects.create(
            step=step, channel="sms", text="Hi {{ contact.first_name }} " * 30
        )
        email, sms = preview_step(step, sample_contact())
        assert (email.segments, sms.segments) == (None, 2)

    def test_variants_preview_their_own_content(self, step):
        variant = StepVariant.objects.create(step=step, name="B")
        StepContent.objects.create(step=step, variant=variant, channel="push", title="B title")
        [push] = preview_step(step, sample_contact(), variant)
        assert [(p.name, p.value) for p in push.parts] == [("title", "B title")]

    def test_a_failing_shop_recommendation_falls_back_to_samples(self, step, monkeypatch):
        def broken(*args, **kwargs):
            raise RuntimeError("shop database down")

        adapter = preview.get_adapter()
        monkeypatch.setattr(adapter, "get_recommendations", broken)
        [email] = preview_step(step, sample_contact())
        assert "<i>Wool scarf</i>" in next(p.value for p in email.parts if p.name == "html")


@pytest.fixture
def series(locmem_channels):
    """Email at once, SMS a day later (only for customers who have not ordered), then the
    best channel two days after that."""
    return make_flow(
        steps=[
            ("Hello", timedelta(0), "email"),
            ("Text", timedelta(days=1), "sms"),
            ("Last", timedelta(days=2), "best"),
        ]
    )


def by_step(plan):
    return {planned.step.name: planned for planned in plan.steps}


class TestDryRun:
    def test_timeline_channels_and_reasons(self, series):
        ann = ContactFactory(first_name="Ann", phone="+33612345678", consents=["email", "sms"])
        bob = ContactFactory(first_name="Bob")  # no consent at all
        ann_plan, bob_plan = dry_run(series, [ann, bob], now=NOON)
        steps = by_step(ann_plan)
        assert [(s.at, s.channel, s.skipped) for s in steps.values()] == [
            (NOON, "email", ""),
            (NOON + timedelta(days=1), "sms", ""),
            (NOON + timedelta(days=3), "email", ""),  # the first channel in the shop's order
        ]
        steps = by_step(bob_plan)
        assert steps["Hello"].skipped == "no marketing consent for Email"
        assert steps["Last"].skipped.startswith("no channel reaches them")

    def test_skipped_steps_keep_their_place_in_time(self, series):
        text = series.steps.get(name="Text")
        text.conditions = validate([{"name": "has_ordered"}])
        text.save()
        ann = ContactFactory(consents=["email"])
        steps = by_step(dry_run(series, [ann], now=NOON)[0])
        assert steps["Text"].skipped == "condition not met: has ordered"
        assert steps["Last"].at == NOON + timedelta(days=3)

    def test_sms_outside_the_send_window_waits(self, series):
        ann = ContactFactory(phone="+33612345678", time_zone="UTC", consents=["email", "sms"])
        late = dt.datetime(2026, 3, 4, 21, 30, tzinfo=dt.UTC)  # a Wednesday
        steps = by_step(dry_run(series, [ann], now=late)[0])
        assert steps["Hello"].held_until is None  # email has no window by default
        assert steps["Text"].held_until == dt.datetime(2026, 3, 6, 9, 0, tzinfo=dt.UTC)

    def test_who_does_not_enter_and_why(self, series):
        series.conditions = validate([{"name": "country_in", "params": {"countries": "FR"}}])
        series.save()
        french = ContactFactory(country="FR", consents=["email"])
        german = ContactFactory(country="DE", consents=["email"])
        enrolled = ContactFactory(country="FR", consents=["email"])
        Enrollment.objects.create(
            flow=series, contact=enrolled, trigger_key="x", triggered_at=NOON - timedelta(hours=1)
        )
        plans = dry_run(series, [french, german, enrolled], now=NOON)
        assert [plan.excluded for plan in plans] == [
            "",
            "entry condition not met: lives in one of these countries",
            "already in this flow, or went through it",
        ]
        assert plans[1].steps == []

    def test_from_signup_an_order_ends_the_flow_at_the_order(self, series):
        signed_up = NOON - timedelta(days=2)
        ann = ContactFactory(signed_up_at=signed_up, consents=["email"])
        TrackedOrder.objects.create(
            order_key="1", contact=ann, total=10, currency="EUR",
            placed_at=signed_up + timedelta(hours=20),
        )  # fmt: skip
        steps = by_step(dry_run(series, [ann], now=NOON, from_signup=True)[0])
        assert steps["Hello"].at == signed_up and not steps["Hello"].skipped
        assert steps["Text"].skipped == steps["Last"].skipped == "left the flow: placed an order"

    def test_missing_content_and_suppressed_addresses(self, series):
        StepContent.objects.filter(step__name="Text").delete()
        ann = ContactFactory(phone="+33612345678", consents=["email", "sms"])
        Suppression.objects.create(channel="email", address=ann.email, reason="bounce")
        steps = by_step(dry_run(series, [ann], now=NOON)[0])
        assert steps["Hello"].skipped == "Email address is suppressed"
        assert steps["Text"].skipped == "no SMS content"
        assert steps["Last"].channel == "sms"  # best: the suppressed email is passed over

    def test_channels_without_a_backend_are_named(self, settings):
        flow = make_flow(steps=[("Text", timedelta(0), "sms")])
        ann = ContactFactory(phone="+33612345678", consents=["sms"])
        [planned] = dry_run(flow, [ann], now=NOON)[0].steps
        assert planned.skipped == "SMS is not set up (no backend in CHANNEL_BACKENDS)"


def test_dry_run_of_enrolled_contacts_follows_their_own_schedule(series):
    ann = ContactFactory(phone="+33612345678", time_zone="UTC", consents=["email", "sms"])
    next_at = NOON + timedelta(hours=5)
    inside = Enrollment.objects.create(
        flow=series, contact=ann, trigger_key="a", triggered_at=NOON - timedelta(days=1),
        next_step=series.steps.get(position=1), next_step_at=next_at,
    )  # fmt: skip
    left = Enrollment.objects.create(
        flow=series, contact=ContactFactory(), trigger_key="b", triggered_at=NOON,
        state="exited", exit_reason="Placed an order",
    )  # fmt: skip
    plans = dry_run_enrolled(
        Enrollment.objects.filter(pk__in=[inside.pk, left.pk]).select_related("flow", "contact")
    )
    plan = next(p for p in plans if p.contact == ann)
    steps = by_step(plan)
    assert steps["Hello"].done and not steps["Text"].done
    assert (steps["Text"].at, steps["Text"].channel) == (next_at, "sms")
    assert steps["Last"].at == next_at + timedelta(days=2)
    assert next(p for p in plans if p.contact != ann).excluded == "left the flow: placed an order"
