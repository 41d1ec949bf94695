"""A/B tests of popups and message steps: the figures, the winner, promotion, history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from omnichannel.conf import OmnichannelSettings, omnichannel_settings
from omnichannel.flows import ab_tests
from omnichannel.flows.engine import advance_due, enroll
from omnichannel.flows.variants import assign
from omnichannel.models import (
    ABTestDecision,
    DeliveryEvent,
    Enrollment,
    Message,
    PopupEvent,
    Step,
    StepContent,
    StepVariant,
    TrackedOrder,
)
from omnichannel.models.popups import PopupEventKind
from omnichannel.schedule import periodic_tasks
from omnichannel.tasks import decide_ab_tests
from omnichannel.testing.factories import ContactFactory, PopupFactory

from .flows.conftest import make_flow

pytestmark = pytest.mark.django_db

SENT_AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def ab_settings(settings):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "AB_TESTS": {"min_sample": 100, "confidence": 0.95},
    }
    return settings


def with_setting(settings, **ab):
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "AB_TESTS": {**settings.OMNICHANNEL["AB_TESTS"], **ab},
    }


def show(variant, impressions, submissions):
    PopupEvent.objects.bulk_create(
        [
            PopupEvent(popup=variant.popup, variant=variant, kind=PopupEventKind.IMPRESSION)
            for _ in range(impressions)
        ]
        + [
            PopupEvent(popup=variant.popup, variant=variant, kind=PopupEventKind.SUBMIT)
            for _ in range(submissions)
        ]
    )


def popup_with(*variants):
    """A popup whose variants have ``(impressions, submissions)`` each."""
    popup = PopupFactory(variants=[{} for _ in variants])
    for variant, (impressions, submissions) in zip(
        popup.variants.order_by("id"), variants, strict=True
    ):
        show(variant, impressions, submissions)
    return popup


def step_with_variants(*names, flow_slug="welcome"):
    flow = make_flow(slug=flow_slug)
    step = flow.steps.get()
    return step, [StepVariant.objects.create(step=step, name=name) for name in names]


def send(step, variant, count, clicked=0):
    """``count`` messages of ``variant`` sent, the first ``clicked`` of them clicked."""
    contacts = [ContactFactory() for _ in range(count)]
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(flow=step.flow, contact=c, trigger_key=f"k{c.pk}", triggered_at=SENT_AT)
        for c in contacts
    )
    messages = Message.objects.bulk_create(
        Message(
            idempotency_key=f"{e.pk}:{step.pk}",
            contact=e.contact,
            channel=step.channel,
            enrollment=e,
            step=step,
            variant=variant,
            status="sent",
            scheduled_at=SENT_AT,
            sent_at=SENT_AT,
        )
        for e in enrollments
    )
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(message=m, kind="clicked", occurred_at=SENT_AT) for m in messages[:clicked]
    )
    return messages


# --- the verdict -----------------------------------------------------------------------


def test_a_popup_test_reads_impressions_and_submissions():
    popup = popup_with((120, 12), (130, 39))
    (test,) = ab_tests.popup_tests([popup])
    a, b = popup.variants.order_by("id")
    assert [(arm.variant, arm.sample, arm.conversions) for arm in test.arms] == [
        (b, 130, 39),
        (a, 120, 12),
    ]
    assert test.arms[0].rate == pytest.approx(0.3)
    assert test.confidence > 0.99
    assert test.winner.variant == b and test.metric == "submissions"


def test_no_winner_before_every_arm_has_the_minimum_sample():
    (test,) = ab_tests.popup_tests([popup_with((99, 5), (400, 200))])
    assert test.confidence > 0.99
    assert test.winner is None
    assert test.needs == 1 and [arm.missing for arm in test.arms] == [0, 1]


def test_no_winner_below_the_confidence(ab_settings):
    popup = popup_with((1000, 200), (1000, 250))  # z = 2.68, confidence 0.9926
    (test,) = ab_tests.popup_tests([popup])
    assert test.winner is not None
    with_setting(ab_settings, confidence=0.995)
    (test,) = ab_tests.popup_tests([popup])
    assert test.winner is None and test.needs == 0


def test_a_popup_test_is_per_language_and_leaves_out_paused_variants():
    popup = PopupFactory(
        variants=[{"locale": "fr"}, {"locale": "FR"}, {"locale": "fr", "weight": 0}, {}]
    )
    (test,) = ab_tests.popup_tests([popup])
    assert test.locale == "fr"
    assert {arm.variant.name for arm in test.arms} == {"A", "B"}


def test_a_step_test_reads_clicks_per_message_sent():
    step, (a, b) = step_with_variants("A", "B")
    send(step, a, 150, clicked=15)
    send(step, b, 150, clicked=45)
    (test,) = ab_tests.step_tests([step])
    assert [(arm.variant, arm.sample, arm.conversions) for arm in test.arms] == [
        (b, 150, 45),
        (a, 150, 15),
    ]
    assert test.winner.variant == b and test.metric == "clicks"


def test_a_step_test_may_read_attributed_buyers_instead(ab_settings):
    with_setting(ab_settings, metric="orders")
    step, (a, b) = step_with_variants("A", "B")
    send(step, a, 120, clicked=100)
    for message in send(step, b, 120)[:40]:
        for number in (1, 2):  # two orders, one buyer: one conversion
            TrackedOrder.objects.create(
                order_key=f"{message.pk}-{number}",
                contact=message.contact,
                total=Decimal("30"),
                currency="EUR",
                placed_at=SENT_AT + dt.timedelta(hours=number),
                attributed_variant=b,
            )
    (test,) = ab_tests.step_tests([step])
    assert [(arm.variant, arm.conversions) for arm in test.arms] == [(b, 40), (a, 0)]
    assert test.winner.variant == b and test.metric == "orders"


def test_one_variant_or_one_left_is_no_test():
    step, (a, b) = step_with_variants("A", "B")
    b.retired = True
    b.save()
    assert ab_tests.step_tests([step]) == []
    assert ab_tests.popup_tests([PopupFactory()]) == []


# --- promotion and history ---------------------------------------------------------------


def test_promoting_a_popup_winner_pauses_the_others_and_writes_one_row(admin_user):
    popup = popup_with((200, 10), (200, 50))
    a, b = popup.variants.order_by("id")
    (test,) = ab_tests.popup_tests([popup])
    decision = ab_tests.promote(test, admin_user)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.weight, b.weight) == (0, 1)
    assert ABTestDecision.objects.get() == decision
    assert decision.promoted and decision.decided_by == admin_user
    assert (decision.popup, decision.winner_id, decision.winner_name) == (popup, b.pk, "B")
    assert decision.figures == [
        {"variant_id": b.pk, "name": "B", "sample": 200, "conversions": 50},
        {"variant_id": a.pk, "name": "A", "sample": 200, "conversions": 10},
    ]
    assert ab_tests.promote(test, admin_user) is None  # a second click changes nothing
    assert ABTestDecision.objects.count() == 1
    assert ab_tests.popup_tests([popup]) == []


def test_promoting_a_step_winner_retires_the_others_and_assigned_contacts_keep_theirs():
    step, (a, b, c) = step_with_variants("A", "B", "C")
    send(step, a, 150, clicked=10)
    send(step, b, 150, clicked=60)
    send(step, c, 150, clicked=12)
    had_a = Enrollment(variants={str(step.pk): a.pk})
    (test,) = ab_tests.step_tests([step])
    ab_tests.promote(test)
    assert set(StepVariant.objects.filter(retired=True)) == {a, c}
    variants = list(step.variants.all())
    assert assign(had_a, step, variants) == a  # sticky: its arm stays its arm
    new = [assign(Enrollment(variants={}), step, variants) for _ in range(30)]
    assert set(new) == {b}
    (decision,) = ABTestDecision.objects.all()
    assert decision.step == step and decision.decided_by is None and decision.promoted


def test_history_outlives_the_popup():
    popup = popup_with((200, 10), (200, 50))
    (test,) = ab_tests.popup_tests([popup])
    ab_tests.promote(test)
    popup.delete()
    decision = ABTestDecision.objects.get()
    assert decision.popup is None and decision.winner_name == "B"
    assert decision.subject == str(test.subject)


# --- the periodic task -------------------------------------------------------------------


def test_the_task_notes_a_winner_once_without_auto_promotion():
    popup = popup_with((200, 10), (200, 50))
    assert decide_ab_tests() == {"evaluated": 1, "promoted": 0, "noted": 1}
    assert decide_ab_tests() == {"evaluated": 1, "promoted": 0, "noted": 0}
    (decision,) = ABTestDecision.objects.all()
    assert not decision.promoted and decision.decided_by is None
    assert set(popup.variants.values_list("weight", flat=True)) == {1}  # nothing paused


def test_the_task_promotes_with_auto_promotion_and_only_once(ab_settings):
    with_setting(ab_settings, auto_promote=True)
    popup_with((200, 10), (200, 50))
    step, (a, b) = step_with_variants("A", "B")
    send(step, a, 100, clicked=50)
    send(step, b, 100, clicked=10)
    assert decide_ab_tests() == {"evaluated": 2, "promoted": 2, "noted": 0}
    assert decide_ab_tests() == {"evaluated": 0, "promoted": 0, "noted": 0}
    assert ABTestDecision.objects.filter(promoted=True).count() == 2
    assert list(StepVariant.objects.filter(retired=True)) == [b]


def test_judging_many_tests_costs_a_fixed_number_of_queries():
    def queries(count):
        ABTestDecision.objects.all().delete()
        for number in range(count):
            popup_with((200, 10), (200, 50))
            step, (a, b) = step_with_variants("A", "B", flow_slug=f"flow-{count}-{number}")
            send(step, a, 100, clicked=50)
            send(step, b, 100, clicked=10)
        with CaptureQueriesContext(connection) as captured:
            decide_ab_tests()
        return len(captured)

    assert queries(1) == queries(3)
    assert Step.objects.count() == 4


# --- the admin pages ---------------------------------------------------------------------


def test_the_popup_page_shows_the_test_and_promotes_the_winner(admin_client, admin_user):
    popup = popup_with((200, 10), (150, 45))
    a, b = popup.variants.order_by("id")
    url = reverse("admin:omnichannel_popup_change", args=[popup.pk])
    page = admin_client.get(url).content.decode()
    assert "A/B tests" in page and "winner" in page and "30.0 %" in page
    assert "with a confidence of 95.0 % or more" in page
    promote_url = reverse("admin:omnichannel_popup_promote_winner", args=[popup.pk])
    assert f'formaction="{promote_url}"' in page
    response = admin_client.post(promote_url, {"winner": str(b.pk)})
    assert response.status_code == 302 and response.url == url
    a.refresh_from_db()
    assert a.weight == 0
    decision = ABTestDecision.objects.get()
    assert decision.decided_by == admin_user and decision.winner_id == b.pk
    page = admin_client.get(url).content.decode()
    assert "History" in page and f"promoted by {admin_user}" in page
    assert "Promote winner" not in page  # the test is over


def test_a_stale_promote_button_promotes_nothing(admin_client):
    popup = popup_with((200, 10), (150, 45))
    a, _b = popup.variants.order_by("id")
    promote_url = reverse("admin:omnichannel_popup_promote_winner", args=[popup.pk])
    response = admin_client.post(promote_url, {"winner": str(a.pk)}, follow=True)
    assert "no longer the winner" in response.content.decode()
    assert not ABTestDecision.objects.exists()
    assert set(popup.variants.values_list("weight", flat=True)) == {1}


def test_the_step_page_says_what_each_arm_still_needs(admin_client):
    step, (a, b) = step_with_variants("A", "B")
    send(step, a, 60, clicked=6)
    send(step, b, 100, clicked=30)
    page = admin_client.get(reverse("admin:omnichannel_step_change", args=[step.pk]))
    page = page.content.decode()
    assert "needs 40 more" in page and "clicks per message sent" in page
    assert "Promote winner" not in page


def test_viewers_see_the_test_without_the_button(admin_client):
    viewer = get_user_model().objects.create_user("viewer", "v@shop.example", "pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_popup"))
    admin_client.force_login(viewer)
    popup = popup_with((200, 10), (150, 45))
    page = admin_client.get(reverse("admin:omnichannel_popup_change", args=[popup.pk]))
    page = page.content.decode()
    assert "winner" in page and "Promote winner" not in page


# --- the setting -------------------------------------------------------------------------


def test_the_setting_keeps_defaults_for_the_keys_left_out():
    assert omnichannel_settings.AB_TESTS == {
        "min_sample": 100,
        "confidence": 0.95,
        "auto_promote": False,
        "metric": "clicks",
    }


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"min_sample": 0}, ("omnichannel.E009", "['AB_TESTS']['min_sample'] is 0")),
        ({"min_sample": "200"}, ("omnichannel.E008", "['AB_TESTS']['min_sample'] must be")),
        ({"confidence": 95}, ("omnichannel.E009", "at least 0.5 and at most 0.9999")),
        ({"auto_promote": "yes"}, ("omnichannel.E008", "must be True or False")),
        ({"metric": "opens"}, ("omnichannel.E010", "one of 'clicks', 'orders'")),
        ({"min_samples": 5}, ("omnichannel.E010", "unknown key 'min_samples'")),
        ([200, 0.95], ("omnichannel.E008", "['AB_TESTS'] must be a dict")),
    ],
)
def test_a_bad_setting_is_reported_with_where_and_what(value, problem):
    with override_settings(OMNICHANNEL={"AB_TESTS": value}):
        (found,) = OmnichannelSettings().problems()
    assert found.id == problem[0] and problem[1] in found.message


def test_through_the_engine_retired_arms_keep_their_contacts_and_take_no_new_ones():
    flow = make_flow(slug="engine")
    step = flow.steps.get()
    a, b = (StepVariant.objects.create(step=step, name=name) for name in "AB")
    for variant in (a, b):
        StepContent.objects.create(
            step=step, variant=variant, channel="email", subject=variant.name
        )
    before = [
        enroll(flow, ContactFactory(consents=["email"]), trigger_key=f"before-{i}")
        for i in range(30)
    ]
    assert {e.variants[str(step.pk)] for e in before} == {a.pk, b.pk}  # drawn on entry
    a.retired = True  # as promoting B does
    a.save()
    after = [
        enroll(flow, ContactFactory(consents=["email"]), trigger_key=f"after-{i}")
        for i in range(30)
    ]
    advance_due()
    sent = dict(Message.objects.values_list("enrollment_id", "variant_id"))
    assert all(sent[e.pk] == e.variants[str(step.pk)] for e in before)
    assert {sent[e.pk] for e in after} == {b.pk}


def test_the_task_is_installed_hourly():
    assert periodic_tasks()["omnichannel: decide A/B tests"] == (
        "omnichannel.decide_ab_tests",
        3600,
    )
