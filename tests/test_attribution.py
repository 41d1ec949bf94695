"""The one attribution model: which message and popup an order is credited to, stored on
the order by ``record_order``, and the same credit on every report."""

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from omnichannel import signals
from omnichannel.carts.attribution import attribute, attribute_existing, describe
from omnichannel.carts.orders import record_order
from omnichannel.carts.recovery_report import recovery_report
from omnichannel.conf import omnichannel_settings
from omnichannel.flows.analytics import flow_figures
from omnichannel.integrations.adapter import OrderData
from omnichannel.models import DeliveryEvent, Enrollment, Message, PopupSignup, TrackedOrder
from omnichannel.popups.stats import variant_figures
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory, PopupFactory
from tests.flows.conftest import make_flow

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 10, 12, tzinfo=UTC)
NO_WINDOWS = dict.fromkeys(("email", "sms", "whatsapp", "push", "inbox"), 0)


def enrol(flow, contact, cart=None):
    return Enrollment.objects.create(
        flow=flow, contact=contact, cart=cart, trigger_key=f"k{flow.pk}:{contact.pk}",
        triggered_at=T0, state="completed",
    )  # fmt: skip


def sent(enrollment, at, *, channel=None, clicked_at=None, step=None):
    step = step or enrollment.flow.steps.order_by("position").first()
    message = Message.objects.create(
        idempotency_key=f"m{Message.objects.count()}", contact=enrollment.contact,
        channel=channel or step.channel, enrollment=enrollment, step=step, status="sent",
        scheduled_at=at, sent_at=at,
    )  # fmt: skip
    if clicked_at:
        DeliveryEvent.objects.create(message=message, kind="clicked", occurred_at=clicked_at)
    return message


def bought(contact, at, key="o1", **fields):
    return record_order(
        OrderData(order_key=key, total=Decimal("40"), placed_at=at, **fields), contact
    )


@pytest.fixture
def welcome():
    return make_flow(steps=[("Hello", timedelta(0), "email"), ("Text", timedelta(days=1), "sms")])


@pytest.fixture
def ann():
    return ContactFactory()


def test_a_click_beats_a_later_send(welcome, ann):
    hello, text = welcome.steps.order_by("position")
    enrollment = enrol(welcome, ann)
    email = sent(enrollment, T0, clicked_at=T0 + timedelta(hours=1))
    sent(enrollment, T0 + timedelta(hours=3), step=text)  # sent after the click, not clicked
    order = bought(ann, T0 + timedelta(hours=4))
    assert (order.attributed_by, order.attributed_message) == ("click", email)
    assert (order.attributed_step, order.attributed_flow) == (hello, welcome)
    assert order.attributed_channel == "email" and order.attributed_variant is None


def test_a_click_outside_its_channel_s_window_falls_back_to_the_last_send(welcome, ann):
    _hello, text = welcome.steps.order_by("position")
    enrollment = enrol(welcome, ann)
    # An SMS click counts for one day (the default), so not 30 hours later ...
    sent(enrollment, T0, step=text, clicked_at=T0)
    # ... where an email sent 20 hours before the order still does (send_days: 1).
    email = sent(enrollment, T0 + timedelta(hours=10))
    order = bought(ann, T0 + timedelta(hours=30))
    assert (order.attributed_by, order.attributed_message, order.attributed_channel) == (
        "send",
        email,
        "email",
    )


@override_settings(OMNICHANNEL={"ATTRIBUTION": {"click_days": {"sms": 2}}})
def test_the_windows_are_the_setting_s(welcome, ann):
    _hello, text = welcome.steps.order_by("position")
    sms = sent(enrol(welcome, ann), T0, step=text, clicked_at=T0)
    order = bought(ann, T0 + timedelta(hours=30))
    assert (order.attributed_by, order.attributed_message) == ("click", sms)


def test_no_touch_in_the_windows_no_credit(welcome, ann):
    enrollment = enrol(welcome, ann)
    sent(enrollment, T0, clicked_at=T0 + timedelta(hours=1))  # six days before the order
    after = sent(enrollment, T0 + timedelta(days=6, hours=2), step=welcome.steps.last())
    order = bought(ann, T0 + timedelta(days=6))
    assert after.sent_at > order.placed_at  # a message after the order is no touch
    assert order.attributed_by == "" and order.attributed_message is None
    assert order.attributed_flow is None and order.attributed_channel == ""
    stranger = bought(None, T0 + timedelta(days=6), key="guest")  # no buyer, no cart
    assert stranger.attributed_by == "" and stranger.attributed_message is None


def test_a_guest_checkout_is_credited_through_its_cart(ann):
    recovery = make_flow(slug="cart-recovery", kind="cart_recovery", trigger="cart_abandoned")
    cart = CartSnapshotFactory(contact=ann, status="abandoned", abandoned_at=T0)
    reminder = sent(enrol(recovery, ann, cart=cart), T0, clicked_at=T0 + timedelta(hours=1))
    guest = bought(None, T0 + timedelta(hours=2), cart_key=cart.cart_key)
    assert guest.contact is None
    assert (guest.attributed_by, guest.attributed_message) == ("click", reminder)
    other_cart = bought(None, T0 + timedelta(hours=2), key="o2", cart_key="elsewhere")
    assert other_cart.attributed_message is None


def test_a_message_outside_any_flow_is_not_credited(ann):
    Message.objects.create(
        idempotency_key="test-send", contact=ann, channel="email", status="sent",
        scheduled_at=T0, sent_at=T0,
    )  # fmt: skip
    assert bought(ann, T0 + timedelta(hours=1)).attributed_by == ""


@override_settings(OMNICHANNEL={"PURCHASE_ORDER_STATUSES": ["paid"]})
def test_an_order_that_stops_being_a_purchase_loses_its_credit(welcome, ann):
    enrollment = enrol(welcome, ann)
    email = sent(enrollment, T0, clicked_at=T0 + timedelta(hours=1))
    awaiting = bought(ann, T0 + timedelta(hours=2), status="pending")
    assert awaiting.attributed_by == ""  # not a purchase yet
    paid = bought(ann, T0 + timedelta(hours=2), status="paid")
    assert paid.attributed_message == email
    refunded = bought(ann, T0 + timedelta(hours=2), status="refunded")
    assert refunded.attributed_by == "" and refunded.attributed_message is None
    stored = TrackedOrder.objects.get(order_key="o1")
    assert stored.attributed_message is None and stored.attributed_step is None


@override_settings(OMNICHANNEL={"PURCHASE_ORDER_STATUSES": ["paid", "shipped"]})
def test_a_later_click_does_not_credit_an_old_order_again(welcome, ann):
    hello, text = welcome.steps.order_by("position")
    enrollment = enrol(welcome, ann)
    email = sent(enrollment, T0)
    bought(ann, T0 + timedelta(hours=1), status="paid")
    sent(enrollment, T0 + timedelta(hours=2), step=text, clicked_at=T0 + timedelta(hours=3))
    shipped = bought(ann, T0 + timedelta(hours=1), status="shipped")  # still a purchase
    assert (shipped.attributed_by, shipped.attributed_message) == ("send", email)


def test_attribute_costs_the_same_queries_whatever_the_history(
    welcome, ann, django_assert_num_queries
):
    _hello, text = welcome.steps.order_by("position")
    order = TrackedOrder.objects.create(
        order_key="o1", contact=ann, total=Decimal("10"), currency="EUR",
        placed_at=T0 + timedelta(days=1),
    )  # fmt: skip
    with django_assert_num_queries(3):
        attribute(order)
    assert order.attributed_by == ""
    for hours in range(12):
        enrollment = enrol(make_flow(slug=f"f{hours}"), ann)
        at = T0 + timedelta(hours=hours)
        sent(enrollment, at, clicked_at=at + timedelta(minutes=5))
        sent(enrollment, at, step=text)
    with django_assert_num_queries(3):
        attribute(order)
    assert order.attributed_by == "click"
    assert order.attributed_message.sent_at == T0 + timedelta(hours=11)


def test_every_report_credits_the_same_step(welcome, ann, django_capture_on_commit_callbacks):
    recovery = make_flow(
        name="Cart recovery", slug="cart-recovery", kind="cart_recovery", trigger="cart_abandoned",
        steps=[("Reminder", timedelta(hours=1), "email"), ("Offer", timedelta(days=1), "sms")],
    )  # fmt: skip
    reminder, offer = recovery.steps.order_by("position")
    cart = CartSnapshotFactory(
        contact=ann, status="abandoned", abandoned_at=T0, last_activity_at=T0 - timedelta(hours=1)
    )
    carted = enrol(recovery, ann, cart=cart)
    clicked = sent(carted, T0 + timedelta(hours=1), clicked_at=T0 + timedelta(hours=2))
    sent(carted, T0 + timedelta(hours=3), step=offer)  # a later send: the click wins
    sent(enrol(welcome, ann), T0 + timedelta(hours=4))  # another flow's later send, too
    popup = PopupFactory(variants=[{"name": "A"}])
    variant = popup.variants.get()
    PopupSignup.objects.create(popup=popup, variant=variant, contact=ann)
    PopupSignup.objects.update(created_at=T0 - timedelta(days=9))
    credited = []
    signals.order_attributed.connect(
        lambda sender, order, message, **kw: credited.append(message), weak=False,
        dispatch_uid="test-credit",
    )  # fmt: skip
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order = bought(ann, T0 + timedelta(hours=5), cart_key=cart.cart_key)
    finally:
        signals.order_attributed.disconnect(dispatch_uid="test-credit")
    assert order.attributed_step == reminder and order.attributed_popup == popup
    assert credited == [clicked]
    flow_rows = {row.step: row.conversions for row in flow_figures(recovery).rows}
    assert flow_rows == {"1. Reminder": 1, "2. Offer": 0}
    assert flow_figures(welcome).conversions == 0
    with timezone.override(UTC):
        report = recovery_report(date(2025, 3, 10), date(2025, 3, 10))
    report_rows = {row.step: row.orders.count for row in report.rows}
    assert report_rows == {"1. Reminder": 1, "2. Offer": 0}
    assert report.recovered == 1 and report.recovered_orders.count == 1
    (figures,) = variant_figures(popup)
    assert (figures.orders, figures.revenue) == (1, Decimal("40"))


def test_a_popup_signup_older_than_popup_days_is_not_credited(ann):
    popup = PopupFactory()
    PopupSignup.objects.create(popup=popup, variant=popup.variants.first(), contact=ann)
    PopupSignup.objects.update(created_at=T0 - timedelta(days=31))
    assert bought(ann, T0).attributed_popup is None
    assert variant_figures(popup)[0].orders == 0


def test_past_orders_are_credited_by_the_command(welcome, ann):
    email = sent(enrol(welcome, ann), T0)
    past = [
        TrackedOrder.objects.create(
            order_key=f"old{n}",
            contact=ann,
            total=Decimal("10"),
            currency="EUR",
            placed_at=T0 + timedelta(hours=n + 1),
            is_purchase=n != 2,
        )  # fmt: skip
        for n in range(5)
    ]
    out = io.StringIO()
    call_command("omnichannel_attribute_orders", "--batch-size", "2", stdout=out)
    assert "Looked at 4 purchases." in out.getvalue()
    credited = dict(TrackedOrder.objects.values_list("order_key", "attributed_message"))
    assert credited == {"old0": email.pk, "old1": email.pk, "old2": None, "old3": email.pk,
                        "old4": email.pk}  # fmt: skip
    assert attribute_existing() == 0  # every purchase has its credit now
    assert attribute_existing(everything=True) == len(past) - 1  # the purchases, again


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"click_days": {"fax": 1}}, "OMNICHANNEL['ATTRIBUTION']['click_days'] has an unknown"),
        ({"send_days": {"sms": -1}}, "OMNICHANNEL['ATTRIBUTION']['send_days']['sms'] is -1"),
        ({"popup_days": "30"}, "OMNICHANNEL['ATTRIBUTION']['popup_days'] must be a number of days"),
        ({"clicks": {}}, "OMNICHANNEL['ATTRIBUTION'] has an unknown key 'clicks'."),
        ([5], "OMNICHANNEL['ATTRIBUTION'] must be a dict"),
    ],
)  # fmt: skip
def test_a_bad_setting_names_its_key(value, message):
    with override_settings(OMNICHANNEL={"ATTRIBUTION": value}):
        assert any(p.message.startswith(message) for p in omnichannel_settings.problems())
        with pytest.raises(ImproperlyConfigured, match=r"omnichannel\.E0"):
            omnichannel_settings.ATTRIBUTION  # noqa: B018


def test_a_partial_setting_keeps_the_other_defaults():
    with override_settings(OMNICHANNEL={"ATTRIBUTION": {"click_days": {"sms": 0.5}}}):
        windows = omnichannel_settings.ATTRIBUTION
    assert windows["click_days"] == {"email": 5, "sms": 0.5, "whatsapp": 1, "push": 1, "inbox": 5}
    assert windows["send_days"]["email"] == 1 and windows["popup_days"] == 30


def test_the_model_is_stated_in_the_reader_s_language():
    assert describe().startswith(
        "Orders are credited to the last click on a flow message within 5 days (Email, "
        "On-site inbox); 1 day (SMS, WhatsApp, Web push) before the order, else to the last "
        "flow message sent within 1 day"
    )
    with override_settings(OMNICHANNEL={"ATTRIBUTION": {"click_days": NO_WINDOWS}}):
        assert "no time (clicks are not credited)" in describe()
    with translation.override("fr"):
        assert "5 jours" in describe() and "Orders are credited" not in describe()


@override_settings(OMNICHANNEL={"ATTRIBUTION": {"click_days": NO_WINDOWS}})
def test_no_click_window_credits_the_send(welcome, ann):
    email = sent(enrol(welcome, ann), T0, clicked_at=T0)
    order = bought(ann, T0 + timedelta(hours=1))
    assert (order.attributed_by, order.attributed_message) == ("send", email)


def test_every_report_page_states_the_model(welcome, ann, admin_client):
    """The flow page, the cart recovery dashboard, the popup figures and the marketing
    home show the same sentence; a cost nobody reported is the dashboard's em dash on the
    flow page too."""
    sent(enrol(welcome, ann), T0)  # no cost reported
    bought(ann, T0 + timedelta(hours=1))
    sentence = describe()
    flow_page = admin_client.get(reverse("admin:omnichannel_flow_change", args=[welcome.pk]))
    dashboard = admin_client.get(reverse("admin:omnichannel_cartrecovery_changelist"))
    popup = PopupFactory()
    popup_page = admin_client.get(reverse("admin:omnichannel_popup_change", args=[popup.pk]))
    home = admin_client.get(reverse("admin:omnichannel_marketingresults_changelist"))
    for response in (flow_page, dashboard, popup_page, home):
        assert response.status_code == 200
        assert f'<p class="help oc-attribution">{escape(sentence)}</p>' in response.content.decode()
    # Cost and cost per order, in the totals, the step row and the channel row.
    figures = flow_page.content.decode().split('id="figures"')[1]
    assert figures.count('<td class="num">&mdash;</td>') == 6


def test_the_order_list_shows_and_filters_the_credit(welcome, ann, admin_client):
    sent(enrol(welcome, ann), T0, clicked_at=T0)
    bought(ann, T0 + timedelta(hours=1))
    bought(ContactFactory(), T0, key="o2")
    changelist = reverse("admin:omnichannel_trackedorder_changelist")
    with translation.override("fr"):
        response = admin_client.get(
            changelist, {"attributed_by": "click"}, HTTP_ACCEPT_LANGUAGE="fr"
        )
    html = response.content.decode()
    assert response.status_code == 200 and "dernier clic" in html and "Welcome series" in html
    assert response.context["cl"].result_count == 1
