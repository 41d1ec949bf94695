"""Flow figures: messages per step, channel and variant, attributed orders, lift, cost."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from omnichannel.carts.attribution import attribute
from omnichannel.flows.analytics import flow_figures
from omnichannel.models import DeliveryEvent, Enrollment, Message, StepVariant, TrackedOrder
from omnichannel.testing.factories import ContactFactory

from .conftest import make_flow

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(days=20)


def enrol(flow, state="active", at=T0):
    contact = ContactFactory()
    return Enrollment.objects.create(
        flow=flow, contact=contact, trigger_key=f"k{contact.pk}", triggered_at=at, state=state
    )


def send(enrollment, step, *, at, variant=None, channel=None, cost=None, events=(), **fields):
    message = Message.objects.create(
        idempotency_key=f"{enrollment.pk}:{step.pk}",
        contact=enrollment.contact,
        channel=channel or step.channel,
        enrollment=enrollment,
        step=step,
        variant=variant,
        status="sent" if at else "cancelled",
        scheduled_at=at or T0,
        sent_at=at,
        cost=cost,
        cost_currency="USD" if cost is not None else "",
        **fields,
    )
    for kind in events:
        DeliveryEvent.objects.create(message=message, kind=kind, occurred_at=at)
    return message


def order(enrollment, total, at, is_purchase=True):
    """A purchase credited as ``record_order`` credits it (the ATTRIBUTION defaults)."""
    placed = TrackedOrder.objects.create(
        order_key=f"o{TrackedOrder.objects.count()}",
        contact=enrollment.contact,
        total=Decimal(total),
        currency="EUR",
        placed_at=at,
        is_purchase=is_purchase,
    )
    return attribute(placed)


@pytest.fixture
def story():
    """Two treated contacts who got messages and ordered, one whose message was cancelled,
    one who ordered without a message; two held out, one of whom ordered."""
    flow = make_flow(
        steps=[("Hello", timedelta(0), "email"), ("Nudge", timedelta(days=1), "sms")],
        holdout_percent=30,
        conversion_window=timedelta(days=5),
    )
    hello, nudge = flow.steps.order_by("position")
    a = StepVariant.objects.create(step=hello, name="A")
    b = StepVariant.objects.create(step=hello, name="B")
    ann, bob, cat, dan = (
        enrol(flow, state) for state in ("completed", "completed", "active", "exited")
    )
    held_1, held_2 = enrol(flow, "held_out"), enrol(flow, "held_out")

    send(ann, hello, at=T0, variant=a, cost=Decimal("0.001"), delivered_at=T0,
         events=["delivered", "opened", "opened", "clicked"])  # fmt: skip
    send(ann, nudge, at=T0 + timedelta(days=1), cost=Decimal("0.05"))
    # The email's click (5 days for email) beats the SMS sent after it.
    order(ann, "50", T0 + timedelta(days=1, hours=2))
    order(ann, "70", T0 + timedelta(days=10))  # outside every window
    send(bob, hello, at=T0, variant=b, delivered_at=T0)
    order(bob, "30", T0 - timedelta(hours=1))  # before any message
    order(bob, "30", T0 + timedelta(hours=1))  # variant B's email
    send(cat, hello, at=None, variant=a)  # cancelled: never sent
    order(cat, "99", T0 + timedelta(hours=1), is_purchase=False)  # awaiting payment
    order(dan, "20", T0 + timedelta(hours=2))  # converted, but no message to credit
    order(held_1, "40", T0 + timedelta(days=2))
    order(held_2, "40", T0 + timedelta(days=9))  # after the window: not a conversion
    return flow


def test_figures_from_a_known_story(story, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        figures = flow_figures(story)
    assert (figures.enrolled, figures.enrolled_converted) == (4, 3)  # ann, bob, dan
    assert (figures.held_out, figures.held_out_converted) == (2, 1)
    assert figures.conversion_rate == 0.75 and figures.holdout_conversion_rate == 0.5
    assert figures.lift == pytest.approx(0.5)
    rows = {(r.step, r.channel, r.variant): r for r in figures.rows}
    assert list(rows) == [
        ("1. Hello", "email", "A"),
        ("1. Hello", "email", "B"),
        ("2. Nudge", "sms", ""),
    ]
    a, b, sms = rows.values()
    assert (a.sent, a.delivered, a.opened, a.clicked, a.conversions) == (1, 1, 1, 1, 1)
    assert a.revenue == Decimal("50")
    assert (b.sent, b.delivered, b.opened, b.clicked, b.conversions) == (1, 1, 0, 0, 1)
    assert b.revenue == Decimal("30") and b.cost_per_conversion == 0
    assert (a.costed, b.costed) == (1, 0)  # B's cost was never reported: unknown, not 0
    assert (sms.sent, sms.conversions, sms.revenue, sms.cost) == (1, 0, 0, Decimal("0.05"))
    assert figures.conversions == 2 and figures.revenue == Decimal("80")
    assert figures.cost == Decimal("0.051")
    assert figures.cost_per_conversion == Decimal("0.0255")
    channels = {row.channel: row for row in figures.channels}
    assert channels["email"].sent == 2 and channels["email"].conversions == 2
    assert channels["email"].cost_per_conversion == Decimal("0.0005")
    assert channels["sms"].cost_per_conversion is None  # it cost, and sold nothing
    assert figures.order_currencies == {"EUR"} and figures.cost_currencies == {"USD"}


def test_the_period_selects_a_cohort_by_trigger_time(story):
    hello = story.steps.get(position=0)
    late = enrol(story, "completed", at=T0 + timedelta(days=15))
    send(late, hello, at=T0 + timedelta(days=15))
    order(late, "10", T0 + timedelta(days=15, hours=1))
    recent = flow_figures(story, start=T0 + timedelta(days=14))
    assert (recent.enrolled, recent.held_out, recent.sent, recent.conversions) == (1, 0, 1, 1)
    assert recent.lift is None  # no holdout in this period
    early = flow_figures(story, end=T0 + timedelta(days=14))
    assert (early.enrolled, early.conversions) == (4, 2)


def test_an_order_counts_once_even_after_several_flow_messages(story):
    hello, nudge = story.steps.order_by("position")
    contact_enrollment = enrol(story, "completed")
    send(contact_enrollment, hello, at=T0)
    send(contact_enrollment, nudge, at=T0 + timedelta(hours=1))
    order(contact_enrollment, "15", T0 + timedelta(hours=2))
    figures = flow_figures(story)
    assert figures.conversions == 3 and figures.revenue == Decimal("95")


def test_an_empty_flow_has_no_figures_and_no_division_by_zero():
    figures = flow_figures(make_flow())
    assert (figures.enrolled, figures.sent, figures.rows) == (0, 0, [])
    assert figures.conversion_rate is None and figures.lift is None
    assert figures.cost_per_conversion is None
