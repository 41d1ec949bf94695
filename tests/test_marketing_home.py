"""The marketing home: the period's figures from a small hand-built story, the trend by day
and by week, the page (period choices, bad parameters, permission) and a query count that
does not grow with the data."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from omnichannel.admin.permissions import marketing_group
from omnichannel.flows.results import marketing_results
from omnichannel.flows.results_rollup import rebuild_message_days
from omnichannel.models import Contact, DeliveryEvent, Enrollment, Message, TrackedOrder
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory, PopupFactory

from .flows.conftest import make_flow

pytestmark = pytest.mark.django_db

HOME = reverse("admin:omnichannel_marketingresults_changelist")
# Monday 10 to Sunday 16 March 2025, in UTC (the tests' time zone).
START, END = date(2025, 3, 10), date(2025, 3, 16)
EM_DASH = "&mdash;"
_keys = count(1)


def at(day, hour=12, minute=0):
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def joined(when, source=""):
    contact = ContactFactory(source=source)
    Contact.objects.filter(pk=contact.pk).update(created_at=when)  # auto_now_add
    return contact


def message(contact, channel, sent_at, *events, delivered=False, cost=None):
    """A message sent at ``sent_at`` and its ``events``: kinds, or (kind, machine) pairs."""
    sent = Message.objects.create(
        idempotency_key=f"m{next(_keys)}", contact=contact, channel=channel, status="sent",
        scheduled_at=sent_at, sent_at=sent_at, delivered_at=sent_at if delivered else None,
        cost=cost, cost_currency="USD" if cost is not None else "",
    )  # fmt: skip
    for event in events:
        kind, machine = event if isinstance(event, tuple) else (event, False)
        DeliveryEvent.objects.create(
            message=sent, kind=kind, machine=machine, occurred_at=sent_at + timedelta(hours=1)
        )
    return sent


def order(when, total, *, currency="EUR", is_purchase=True, contact=None, **credit):
    return TrackedOrder.objects.create(
        order_key=f"o{next(_keys)}", total=Decimal(total), currency=currency, placed_at=when,
        is_purchase=is_purchase, contact=contact, **credit,
    )  # fmt: skip


@pytest.fixture
def story():
    """A week of results.

    messages  m1 email, delivered, opened by a person and by a machine, clicked
              m2 email, delivered, opened by a machine only
              m3 email, bounced;  m4 sms, delivered, unsubscribed, costs $0.0079
              m5 whatsapp, read on the 16th, costs $0.0421;  m6 email on the 9th: outside
    orders    o1 €100 on the 10th, credited to m1 (welcome flow, email) and to the popup
              o2 €50 on the 12th, credited to m4 (cart recovery, sms), from a cart
              o3 $30 on the 16th, credited to nothing
              outside: €999 awaiting payment, €70 on the 17th
    contacts  two from the popup on the 10th, one from checkout on the 12th, one on the 9th
    """
    welcome = make_flow()
    recovery = make_flow(name="Cart recovery", slug="cart", kind="cart_recovery")
    popup = PopupFactory(name="Spring popup")
    ann = joined(at(10, 8), "popup:spring")
    joined(at(10, 9), "popup:spring")
    bob = joined(at(12), "checkout")
    joined(at(9), "checkout")
    m1 = message(ann, "email", at(10, 9), "opened", ("opened", True), "clicked", delivered=True)
    message(ann, "email", at(10, 10), ("opened", True), delivered=True)
    message(bob, "email", at(12), "bounced")
    m4 = message(bob, "sms", at(12), "unsubscribed", delivered=True, cost=Decimal("0.0079"))
    message(bob, "whatsapp", at(16), "read", cost=Decimal("0.0421"))
    message(bob, "email", at(9), "opened", "clicked", delivered=True)
    cart = CartSnapshotFactory(contact=bob)
    order(at(10, 11), "100", attributed_by="click", attributed_message=m1,
          attributed_flow=welcome, attributed_channel="email", attributed_popup=popup)  # fmt: skip
    order(at(12, 13), "50", cart=cart, attributed_by="send", attributed_message=m4,
          attributed_flow=recovery, attributed_channel="sms")  # fmt: skip
    order(at(16, 13), "30", currency="USD")
    order(at(12), "999", is_purchase=False, attributed_flow=welcome)
    order(at(17), "70", attributed_by="click", attributed_flow=welcome)
    return {"welcome": welcome, "recovery": recovery, "popup": popup}


def money(results_money):
    return {currency: amount.normalize() for currency, amount in results_money.items()}


def test_message_fates_count_each_message_once_and_flag_machine_opens(story):
    messages = marketing_results(START, END).messages
    assert (messages.sent, messages.delivered, messages.clicked) == (5, 3, 1)
    assert (messages.unsubscribed, messages.bounced) == (1, 1)
    # m1 (a person and a machine), m2 (a machine only), m5 (read on WhatsApp)
    assert (messages.opened, messages.opened_by_people, messages.opened_by_machines_only) == (
        3,
        2,
        1,
    )
    assert messages.open_rate == pytest.approx(3 / 5)
    assert money(messages.cost) == {"USD": Decimal("0.05")}


def test_revenue_per_flow_channel_and_popup_from_the_stored_credit(story):
    results = marketing_results(START, END)
    assert results.purchases.count == 3
    assert money(results.purchases.revenue) == {"EUR": 150, "USD": 30}  # never added up
    assert results.credited.count == 2 and money(results.credited.revenue) == {"EUR": 150}
    flows = {
        credit.name: (credit.orders.count, money(credit.orders.revenue)) for credit in results.flows
    }
    assert flows == {"Welcome series": (1, {"EUR": 100}), "Cart recovery": (1, {"EUR": 50})}
    assert [(c.name, money(c.orders.revenue)) for c in results.popups] == [
        ("Spring popup", {"EUR": 100})
    ]
    channels = {c.channel: (c.messages.sent, c.orders.count, money(c.orders.revenue))
                for c in results.channels}  # fmt: skip
    assert channels == {
        "email": (3, 1, {"EUR": 100}),
        "sms": (1, 1, {"EUR": 50}),
        "whatsapp": (1, 0, {}),
    }
    assert results.recovered_carts == 1
    # $0.05 of messages for two credited orders
    assert money(results.cost_per_order) == {"USD": Decimal("0.025")}


def test_list_growth_by_source(story):
    results = marketing_results(START, END)
    assert results.sources == [("popup:spring", 2), ("checkout", 1)]
    assert results.new_contacts == 3


def test_the_trend_by_day(story):
    buckets = marketing_results(START, END).buckets
    assert [bucket.start for bucket in buckets] == [START + timedelta(days=n) for n in range(7)]
    by_day = {bucket.start.day: bucket for bucket in buckets}
    assert [by_day[day].messages.sent for day in range(10, 17)] == [2, 0, 2, 0, 0, 0, 1]
    assert by_day[10].messages.opened == 2 and by_day[10].messages.clicked == 1
    assert money(by_day[10].purchases.revenue) == {"EUR": 100}
    assert money(by_day[16].purchases.revenue) == {"USD": 30}
    assert by_day[16].credited.count == 0
    assert [by_day[day].new_contacts for day in range(10, 17)] == [2, 0, 1, 0, 0, 0, 0]


def test_the_trend_by_week_starts_on_mondays(story):
    buckets = marketing_results(date(2025, 3, 5), END, "week").buckets
    assert [bucket.start for bucket in buckets] == [date(2025, 3, 3), START]
    assert [bucket.messages.sent for bucket in buckets] == [1, 5]  # m6 on Sunday the 9th
    assert [bucket.new_contacts for bucket in buckets] == [1, 3]
    assert [bucket.purchases.count for bucket in buckets] == [0, 3]


def test_days_are_the_current_time_zone_s(story):
    # 23:30 UTC on the 10th is already the 11th in Paris.
    message(Contact.objects.first(), "email", at(10, 23, 30))
    with timezone.override(ZoneInfo("Europe/Paris")):
        buckets = marketing_results(START, END).buckets
    assert [bucket.messages.sent for bucket in buckets][:2] == [2, 1]


def test_holdout_lift_per_flow_with_a_holdout(story):
    flow = make_flow(name="Win-back", slug="win-back", holdout_percent=50,
                     conversion_window=timedelta(days=3))  # fmt: skip
    people = [("active", True), ("active", False), ("held_out", True)] + [("held_out", False)] * 3
    for state, bought in people:
        contact = ContactFactory()
        Enrollment.objects.create(flow=flow, contact=contact, trigger_key=f"t{next(_keys)}",
                                  triggered_at=at(11), state=state)  # fmt: skip
        if bought:
            order(at(12), "10", contact=contact)
    (holdout,) = marketing_results(START, END).holdouts  # flows without a holdout: none
    assert (holdout.flow, holdout.enrolled, holdout.enrolled_converted) == ("Win-back", 2, 1)
    assert (holdout.held_out, holdout.held_out_converted) == (4, 1)
    assert holdout.lift == pytest.approx(0.5 / 0.25 - 1)


def test_the_query_count_does_not_grow_with_flows_popups_and_days(story):
    def queries(start, end, granularity):
        with CaptureQueriesContext(connection) as captured:
            marketing_results(start, end, granularity)
        return len(captured)

    few = queries(START, END, "day")
    for number in range(5):
        flow = make_flow(name=f"Flow {number}", slug=f"flow-{number}", holdout_percent=10)
        popup = PopupFactory()
        contact = joined(at(11 + number), f"source {number}")
        Enrollment.objects.create(flow=flow, contact=contact, trigger_key=f"t{number}",
                                  triggered_at=at(11), state="held_out")  # fmt: skip
        sent = message(contact, "push", at(11 + number), "clicked", "opened")
        order(at(11 + number), "5", currency="GBP", attributed_by="click",
              attributed_message=sent, attributed_flow=flow, attributed_channel="push",
              attributed_popup=popup)  # fmt: skip
    assert few == queries(START, END, "day") == queries(date(2025, 1, 1), END, "week") <= 9
    # With part of the period in the daily rollup: its two reads, and still the live two.
    rebuild_message_days(date(2025, 1, 1), date(2025, 3, 12))
    assert queries(START, END, "day") == queries(date(2025, 1, 1), END, "week") <= 10


# --- the page ----------------------------------------------------------------------------


def staff(*, permissions=(), group=None):
    user = get_user_model().objects.create_user(
        f"staff{next(_keys)}", "staff@shop.example", "pw", is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
    if group:
        user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_figures_charts_and_tables(story, django_assert_max_num_queries):
    client = staff(group=marketing_group())
    with django_assert_max_num_queries(14):  # session, user, permissions + the figures
        page = client.get(HOME, {"start": "2025-03-10", "end": "2025-03-16"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Marketing home" in html
    assert html.count('<svg role="img"') == 4  # revenue in EUR and in USD, messages, growth
    assert 'id="oc-revenue-EUR-title"' in html and 'id="oc-revenue-USD-title"' in html
    assert "Spring popup" in html and "Cart recovery" in html and "popup:spring" in html
    assert "€100.00" in html and "$30.00" in html
    # Email carries no known cost: its cost and cost per order are a dash.
    email_row = html.split('<th scope="row">Email</th>', 1)[1].split("</tr>", 1)[0]
    assert email_row.count(EM_DASH) == 2 and "2 (66.7 %)" in email_row  # opened, of 3 sent
    assert "<summary>Figures per day</summary>" in html


def test_the_period_choices(story):
    client = staff(permissions=["view_marketingresults"])
    by_week = client.get(HOME, {"days": "90", "end": "2025-03-16", "by": "week"})
    results = by_week.context["results"]
    assert (results.start, results.end, results.granularity) == (
        date(2024, 12, 17),
        END,
        "week",
    )
    assert "<summary>Figures per week</summary>" in by_week.content.decode()
    last_week = client.get(HOME, {"days": "7", "end": "2025-03-16"}).context["results"]
    assert (last_week.start, last_week.granularity) == (START, "day")


@pytest.mark.parametrize(
    "query, message",
    [
        ({"start": "2025-13-01"}, "Enter a valid date."),
        ({"start": "2025-03-16", "end": "2025-03-10"}, "The start date is after the end date."),
        ({"start": "2024-01-01", "end": "2025-03-10"}, "Choose a period of at most 366 days."),
        ({"by": "year"}, "Select a valid choice."),
        ({"days": "12"}, "Select a valid choice."),
    ],
)
def test_bad_parameters_are_explained_not_a_500(query, message):
    page = staff(permissions=["view_marketingresults"]).get(HOME, query)
    assert page.status_code == 200
    html = page.content.decode()
    assert message in html and "These choices cannot be used" in html
    results = page.context["results"]
    assert (results.end - results.start).days == 29 and results.granularity == "day"


def test_staff_without_the_permission_are_refused():
    assert staff(permissions=["view_trackedorder"]).get(HOME).status_code == 403


def test_the_admin_index_lists_it_first_under_marketing():
    html = staff(group=marketing_group()).get(reverse("admin:index")).content.decode()
    marketing = html.split('class="app-marketing module', 1)[1].split("</table>", 1)[0]
    first = marketing.split('<th scope="row"', 2)[1]
    assert f'<a href="{HOME}"' in first and "Results" in first


def test_the_page_in_french(story):
    client = staff(group=marketing_group())
    page = client.get(HOME, {"end": "2025-03-16", "by": "week"}, HTTP_ACCEPT_LANGUAGE="fr")
    html = page.content.decode()
    assert "Accueil marketing" in html and "Chiffre d’affaires par scénario" in html
    assert "semaine du 10 mars 2025" in html and "100,00\N{NO-BREAK SPACE}€" in html


def test_the_charts_scale_to_the_peak_and_keep_the_part_inside_the_bar():
    from omnichannel.admin.charts import HEIGHT, WIDTH, bar_chart, line_chart

    values = [(4, 1), (0, 0), (2, 2)]
    chart = bar_chart(values, lambda item: item[0], lambda item: item[1])
    assert chart["peak"] == 4
    first, empty, full = chart["bars"]
    assert (first["height"], first["inner_height"], empty["height"]) == (HEIGHT, HEIGHT / 4, 0)
    assert full["inner_height"] == full["height"] == HEIGHT / 2
    assert (
        first["x"]
        < first["inner_x"]
        < first["inner_x"] + first["inner_width"]
        < (first["x"] + first["width"])
    )
    line = line_chart([0, 5, 10], lambda value: value)
    assert line["line"] == f"0.0,{HEIGHT}.0 {WIDTH / 2},{HEIGHT / 2} {WIDTH}.0,0.0"
    # Nothing at all still draws (an empty period): no division by zero.
    assert bar_chart([0, 0], int)["peak"] == line_chart([], int)["peak"] == 1


def test_the_svg_takes_the_width_it_is_given(story):
    html = staff(group=marketing_group()).get(HOME, {"end": "2025-03-16"}).content.decode()
    charts = html.split('<svg role="img"')[1:]  # the admin's own icons have no role
    assert len(charts) == 4
    for svg in charts:
        opening = svg.split(">", 1)[0]
        assert 'class="oc-chart"' in opening and "viewBox=" in opening
        assert " width=" not in opening and " height=" not in opening
