"""Cart recovery report: the funnel, attributed orders, per-step rows, lift, cost, products,
bounded queries, and the admin dashboard that shows them."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from omnichannel.carts.attribution import attribute
from omnichannel.carts.recovery_report import recovery_report
from omnichannel.models import DeliveryEvent, Enrollment, Message, StepVariant, TrackedOrder
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

from .conftest import make_flow

pytestmark = pytest.mark.django_db

START, END = date(2025, 3, 10), date(2025, 3, 12)
_keys = count(1)


def at(day, hour, minute=0):
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def line(product_id, name, quantity, unit_price):
    return {"product_id": product_id, "name": name, "quantity": quantity, "unit_price": unit_price}


MUG, TEE = line("1", "Mug", 2, "12.50"), line("2", "Tee", 1, "20.00")


def abandoned(flow, when, *, lines=(MUG,), state="active", currency="EUR"):
    """A cart abandoned at ``when`` and its enrollment in ``flow``, triggered then."""
    cart = CartSnapshotFactory(
        contact=ContactFactory(),
        lines=list(lines),
        currency=currency,
        status="abandoned",
        last_activity_at=when - timedelta(minutes=30),
        abandoned_at=when,
    )
    return Enrollment.objects.create(
        flow=flow, contact=cart.contact, cart=cart, trigger_key=f"cart:{cart.uuid}",
        triggered_at=when, state=state,
    )  # fmt: skip


def send(enrollment, step, when, *, variant=None, cost=None, clicked_at=None):
    message = Message.objects.create(
        idempotency_key=f"m{next(_keys)}",
        contact=enrollment.contact,
        channel=step.channel,
        enrollment=enrollment,
        step=step,
        variant=variant,
        status="sent" if when else "queued",
        scheduled_at=when or at(12, 12),
        sent_at=when,
        cost=cost,
        cost_currency="USD" if cost is not None else "",
    )
    if clicked_at:
        DeliveryEvent.objects.create(message=message, kind="clicked", occurred_at=clicked_at)
    return message


def order(when, total, *, contact=None, cart=None, currency="EUR", is_purchase=True):
    """An order credited as ``record_order`` credits it, by the story's two-day windows."""
    placed = TrackedOrder.objects.create(
        order_key=f"o{next(_keys)}", contact=contact, cart=cart, total=Decimal(total),
        currency=currency, placed_at=when, is_purchase=is_purchase,
    )  # fmt: skip
    return attribute(placed)


TWO_DAYS = dict.fromkeys(("email", "sms", "whatsapp", "push", "inbox"), 2)


@pytest.fixture(autouse=True)
def two_day_windows(settings):
    settings.OMNICHANNEL = {"ATTRIBUTION": {"click_days": TWO_DAYS, "send_days": TWO_DAYS}}


EMAIL_COST, SMS_COST = Decimal("0.001"), Decimal("0.05")


@pytest.fixture
def story():
    """Carts abandoned on 10-12 March 2025 (UTC), two-day attribution windows.

    ann   two clicks (email, then SMS variant A), orders once after both; later again
    bob   clicks, orders exactly at the end of the click's window (after the send's)
    cat   no click; orders after an SMS (variant B): send-attributed only
    dan   orders (in USD) after the send but before clicking: not recovered
    eve   clicks; the order comes from her cart at a guest checkout (no contact)
    fay   held out, buys anyway;  gus  held out, does not buy
    hal   the reminder is still queued: not reached
    ivy   abandoned on 9 March at 23:00 UTC: outside the period, with a click and an order
    """
    flow = make_flow(
        name="Cart recovery", slug="cart-recovery", kind="cart_recovery",
        trigger="cart_abandoned", conversion_window=timedelta(days=2), holdout_percent=20,
        steps=[("Reminder", timedelta(hours=1), "email"), ("Offer", timedelta(days=1), "sms")],
    )  # fmt: skip
    reminder, offer = flow.steps.order_by("position")
    a = StepVariant.objects.create(step=offer, name="A")
    b = StepVariant.objects.create(step=offer, name="B")

    ann = abandoned(flow, at(10, 10), lines=[MUG, TEE, line("1", "Mug", 1, "12.50")])
    send(ann, reminder, at(10, 11), cost=EMAIL_COST, clicked_at=at(10, 12))
    # A welcome-flow click before the last recovery click does not take the credit.
    welcome = make_flow()
    welcomed = Enrollment.objects.create(
        flow=welcome, contact=ann.contact, trigger_key="signup", triggered_at=at(1, 0)
    )
    send(welcomed, welcome.steps.get(), at(11, 10, 10), clicked_at=at(11, 10, 30))
    send(ann, offer, at(11, 10), variant=a, cost=SMS_COST, clicked_at=at(11, 11))
    order(at(11, 12), "50", contact=ann.contact)
    order(at(20, 12), "70", contact=ann.contact)  # outside every window

    bob = abandoned(flow, at(10, 14))
    send(bob, reminder, at(10, 15), cost=EMAIL_COST, clicked_at=at(10, 16))
    order(at(10, 17), "99", contact=bob.contact, is_purchase=False)  # awaiting payment
    order(at(12, 16), "30", contact=bob.contact)

    cat = abandoned(flow, at(11, 9), lines=[TEE])
    send(cat, reminder, at(11, 10), cost=EMAIL_COST)
    send(cat, offer, at(11, 18), variant=b, cost=SMS_COST)
    order(at(11, 20), "40", contact=cat.contact)

    dan = abandoned(flow, at(11, 9, 30), currency="USD")
    send(dan, reminder, at(11, 10), cost=EMAIL_COST, clicked_at=at(11, 11))
    order(at(11, 10, 30), "20", contact=dan.contact, currency="USD")

    eve = abandoned(flow, at(11, 9, 45))
    send(eve, reminder, at(11, 10), cost=EMAIL_COST, clicked_at=at(11, 11))
    order(at(11, 12), "25", cart=eve.cart)

    fay = abandoned(flow, at(11, 15), state="held_out")
    order(at(12, 9), "60", contact=fay.contact)
    abandoned(flow, at(11, 16), state="held_out")  # gus

    hal = abandoned(flow, at(12, 23, 30))
    send(hal, reminder, None)

    ivy = abandoned(flow, at(9, 23))
    send(ivy, reminder, at(10, 0, 30), cost=EMAIL_COST, clicked_at=at(10, 1))
    order(at(10, 2), "80", contact=ivy.contact)

    CartSnapshotFactory(lines=[], item_count=0, value=0, status="abandoned", abandoned_at=at(11, 9))
    return flow


def test_the_funnel_counts_each_cart_of_the_period_once(story):
    report = recovery_report(START, END)
    assert (report.abandoned, report.reached, report.clicked, report.recovered) == (8, 5, 4, 3)
    assert report.recovery_rate == 3 / 8
    assert [(d.date.day, d.abandoned, d.reached, d.clicked, d.recovered) for d in report.days] == [
        (10, 2, 2, 2, 2),
        (11, 5, 3, 2, 1),
        (12, 1, 0, 0, 0),
    ]


def test_orders_after_a_click_count_once_within_the_window(story):
    report = recovery_report(START, END)
    # ann (once, after two clicks), bob (at the window's very end), eve (from her cart).
    assert report.recovered_orders.count == 3
    assert report.recovered_orders.revenue == {"EUR": Decimal("105")}


def test_orders_after_a_send_are_a_separate_figure(story):
    report = recovery_report(START, END)
    # The recovered three, and cat and dan, credited to a send: clicked or not.
    assert report.orders_after_send.count == 5
    assert report.orders_after_send.revenue == {"EUR": Decimal("145"), "USD": Decimal("20")}


def test_each_order_is_credited_to_the_last_click_before_it(story):
    rows = [
        (r.flow, r.step, r.channel, r.variant, r.sent, r.clicked, r.orders.count, r.orders.revenue)
        for r in recovery_report(START, END).rows
    ]
    assert rows == [
        ("Cart recovery", "1. Reminder", "email", "", 5, 4, 2, {"EUR": Decimal("55")}),
        ("Cart recovery", "2. Offer", "sms", "A", 1, 1, 1, {"EUR": Decimal("50")}),
        ("Cart recovery", "2. Offer", "sms", "B", 1, 0, 0, {}),
    ]


def test_cost_per_recovered_order(story):
    report = recovery_report(START, END)
    assert report.cost == {"USD": 5 * EMAIL_COST + 2 * SMS_COST}
    assert report.cost_per_recovered_order == {"USD": Decimal("0.035")}


def test_the_holdout_shows_the_lift(story):
    holdout = recovery_report(START, END).holdout
    # Enrolled: ann, cat, dan, eve bought within two days of the trigger; bob, hal did not.
    assert (holdout.enrolled, holdout.enrolled_purchased) == (6, 4)
    assert (holdout.held_out, holdout.held_out_purchased) == (2, 1)
    assert holdout.lift_points == pytest.approx(4 / 6 - 1 / 2)
    assert holdout.lift == pytest.approx(1 / 3)


def test_top_abandoned_products(story):
    products = recovery_report(START, END).products
    summary = [(p.name, p.carts, p.quantity, p.value) for p in products]
    assert summary == [
        # ann's two Mug lines count as one cart; dan's cart is in dollars.
        ("Mug", 7, 15, {"EUR": Decimal("162.50"), "USD": Decimal("25.00")}),
        ("Tee", 2, 2, {"EUR": Decimal("40.00")}),
    ]


def test_days_follow_the_current_time_zone(story):
    with timezone.override("Europe/Paris"):
        report = recovery_report(START, END)
    # ivy (9 March, 23:00 UTC) is abandoned on 10 March in Paris; hal moves to 13 March.
    assert [(d.date.day, d.abandoned) for d in report.days] == [(10, 3), (11, 5), (12, 0)]
    assert report.recovered_orders.revenue == {"EUR": Decimal("185")}


def test_an_empty_period_has_no_rates(db):
    report = recovery_report(START, START)
    assert (report.abandoned, report.recovery_rate, report.cost_per_recovered_order) == (
        0,
        None,
        {},
    )
    assert report.holdout.lift is None and report.rows == [] and report.products == []


def test_the_queries_do_not_grow_with_the_data(story, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        recovery_report(START, END)
    with CaptureQueriesContext(connection) as small:
        recovery_report(START, END)
    reminder = story.steps.get(position=0)
    for hour in range(30):
        enrollment = abandoned(story, at(12, hour % 24, hour))
        send(enrollment, reminder, at(12, 23, 40), cost=EMAIL_COST, clicked_at=at(12, 23, 50))
        order(at(13, 1), "10", contact=enrollment.contact)
    with CaptureQueriesContext(connection) as large:
        report = recovery_report(START, END)
    assert report.recovered_orders.count == 33
    assert len(large) == len(small)


# --- the admin dashboard -----------------------------------------------------------------

DASHBOARD = "admin:omnichannel_cartrecovery_changelist"


def dashboard(client, **query):
    return client.get(reverse(DASHBOARD), query)


def test_the_dashboard_shows_the_figures_and_a_chart(story, admin_client):
    CartSnapshotFactory(
        lines=[line("9", "<script>alert(1)</script>", 1, "5")],
        status="abandoned",
        abandoned_at=at(12, 9),
    )
    response = dashboard(admin_client, start="2025-03-10", end="2025-03-12")
    assert response.status_code == 200
    assert response.context["report"].abandoned == 9
    html = response.content.decode()
    assert '<svg role="img"' in html and "<title id=" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "€105.00" in html  # recovered revenue, as money in the active language (en)
    assert "$0.04" in html  # cost per recovered order, rounded
    assert 'class="breadcrumbs"' in html


def test_the_dashboard_defaults_to_the_last_30_days(admin_client):
    report = dashboard(admin_client).context["report"]
    assert (report.end, len(report.days)) == (timezone.localdate(), 30)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"start": "2025-13-01"}, "Enter a valid date."),
        ({"start": "2025-03-12", "end": "2025-03-10"}, "The start date is after the end date."),
        ({"start": "2020-01-01", "end": "2025-03-10"}, "at most 366 days"),
    ],
)
def test_bad_dates_get_an_error_and_the_default_period(admin_client, query, error):
    response = dashboard(admin_client, **query)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert len(response.context["report"].days) == 30


def test_staff_need_the_dashboards_own_permission(client, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert dashboard(client).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_cartsnapshot"))
    assert dashboard(client).status_code == 403  # reading the carts is not enough
    staff.user_permissions.add(Permission.objects.get(codename="view_cartrecovery"))
    assert dashboard(client).status_code == 200


def test_visitors_are_sent_to_the_admin_login(client):
    response = dashboard(client)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_cart_list_links_to_the_dashboard(admin_client):
    response = admin_client.get(reverse("admin:omnichannel_cartsnapshot_changelist"))
    assert f'href="{reverse(DASHBOARD)}"' in response.content.decode()


def test_the_admin_index_and_the_app_index_link_to_the_dashboard(admin_client):
    for page in (reverse("admin:index"), reverse("admin:app_list", args=["omnichannel"])):
        html = admin_client.get(page).content.decode()
        assert f'<a href="{reverse(DASHBOARD)}"' in html and "Cart recovery" in html


def test_the_cart_list_offers_the_dashboard_only_to_who_may_open_it(client, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_cartsnapshot"))
    client.force_login(staff)
    response = client.get(reverse("admin:omnichannel_cartsnapshot_changelist"))
    assert response.status_code == 200 and reverse(DASHBOARD) not in response.content.decode()
