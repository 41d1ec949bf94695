"""The flow builder in the admin: flows and steps, validation, actions, previews, test
sends, the dry run and the figures. Bad input always gets a message, never a 500."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from omnichannel.flows import validation
from omnichannel.models import (
    Contact,
    Enrollment,
    Flow,
    Message,
    PushSubscription,
    Step,
    StepContent,
    StepVariant,
)
from omnichannel.testing.factories import ContactFactory

from .conftest import make_flow

pytestmark = pytest.mark.django_db


def flow_url(flow, view="change"):
    return reverse(f"admin:omnichannel_flow_{view}", args=[flow.pk])


def step_url(step, view="change"):
    return reverse(f"admin:omnichannel_step_{view}", args=[step.pk])


def page(response):
    return response.content.decode()


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# --- building a flow -----------------------------------------------------------------------


def flow_data(steps=(), **fields):
    data = {
        "name": "Welcome",
        "slug": "welcome",
        "kind": "welcome",
        "priority": "0",
        "trigger": "signup",
        "trigger_event": "",
        "conditions-rows": "0",
        "reentry_cooldown": "",
        "exit_goals": ["ordered"],
        "holdout_percent": "10",
        "conversion_window": "5 00:00:00",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, (position, name, delay, channel) in enumerate(steps):
        data.update(
            {
                f"steps-{index}-position": position,
                f"steps-{index}-name": name,
                f"steps-{index}-delay": delay,
                f"steps-{index}-channel": channel,
                f"steps-{index}-kind": "message",
                f"steps-{index}-offer_kind": "",
                f"steps-{index}-offer_value": "",
            }
        )
    return data


def test_staff_build_a_flow_with_conditions_goals_and_ordered_steps(admin_client):
    data = flow_data(
        steps=[
            ("2", "Second", "1 00:00:00", "sms"),
            ("1", "First", "0", "email"),
            ("", "Third", "2 00:00:00", "best"),
        ],  # fmt: skip
        **{
            "conditions-rows": "3",
            "conditions-0-name": "country_in",
            "conditions-0-country_in-countries": "fr, be",
            "conditions-0-has_tag-tag": "ignored: another condition's parameter",
            "conditions-1-name": "",  # an empty row
            "conditions-2-name": "cart_value_at_least",
            "conditions-2-cart_value_at_least-amount": "20",
            "exit_goals": ["ordered", "cart_emptied"],
        },
    )
    response = admin_client.post(reverse("admin:omnichannel_flow_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    flow = Flow.objects.get()
    assert flow.conditions == [
        {"name": "country_in", "params": {"countries": ["FR", "BE"]}},
        {"name": "cart_value_at_least", "params": {"amount": "20"}},
    ]
    assert flow.exit_goals == ["ordered", "cart_emptied"]
    assert (flow.status, flow.activated_at) == ("draft", None)  # only activation switches on
    steps = flow.steps.order_by("position")
    assert [(s.position, s.name) for s in steps] == [(0, "First"), (1, "Second"), (2, "Third")]
    # The saved conditions come back in their widgets.
    html = page(admin_client.get(flow_url(flow)))
    assert 'value="FR, BE"' in html and 'value="20"' in html


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"conditions-rows": "1", "conditions-0-name": "vip"}, "Unknown condition &#x27;vip&#x27;"),
        (
            {
                "conditions-rows": "1",
                "conditions-0-name": "country_in",
                "conditions-0-country_in-countries": "France",
            },  # fmt: skip
            "Lives in one of these countries, countries: Give two-letter country codes",
        ),
        (
            {
                "conditions-rows": "1",
                "conditions-0-name": "cart_value_at_least",
                "conditions-0-cart_value_at_least-amount": "lots",
            },  # fmt: skip
            "Cart worth at least, amount: Enter a number.",
        ),
        ({"conditions-rows": "many"}, None),  # a tampered row count is ignored
        ({"trigger": "custom_event"}, "Name the event that starts this flow"),
        ({"exit_goals": ["bought twice"]}, "Select a valid choice"),
        ({"holdout_percent": "80"}, "less than or equal to 50"),
        ({"conversion_window": "five days"}, "Enter a duration such as “30 minutes”"),
    ],
)
def test_bad_flow_input_gets_a_clear_error(admin_client, fields, message):
    response = admin_client.post(reverse("admin:omnichannel_flow_add"), flow_data(**fields))
    if message is None:
        assert response.status_code == 302 and Flow.objects.get().conditions == []
        return
    assert response.status_code == 200
    assert message in page(response)
    assert not Flow.objects.exists()


def test_broken_stored_conditions_are_shown_and_explained(admin_client):
    flow = make_flow(conditions={"name": "not a list"})
    Step.objects.filter(flow=flow).update(
        conditions=[{"name": "retired_condition"}, {"name": "has_tag", "params": ["vip"]}, 7]
    )
    response = admin_client.get(flow_url(flow))
    assert response.status_code == 200
    html = page(response)
    assert "Entry conditions: Conditions are a list of {name, params} objects." in html
    assert "Unknown condition &#x27;retired_condition&#x27;" in html
    step_page = page(admin_client.get(step_url(flow.steps.get())))
    assert '<option value="retired_condition" selected>' in step_page


def test_reordering_and_deleting_steps_keeps_positions_and_waiting_contacts(admin_client):
    flow = make_flow(
        steps=[
            ("A", timedelta(0), "email"),
            ("B", timedelta(days=1), "email"),
            ("C", timedelta(days=2), "email"),
        ]  # fmt: skip
    )
    a, b, c = flow.steps.order_by("position")
    data = flow_data(slug="welcome", exit_goals=["ordered"])
    data.update({"steps-TOTAL_FORMS": "3", "steps-INITIAL_FORMS": "3"})
    for index, (step, position, delete) in enumerate([(a, "3", ""), (b, "2", "on"), (c, "1", "")]):
        data.update(
            {
                f"steps-{index}-id": step.pk,
                f"steps-{index}-flow": flow.pk,
                f"steps-{index}-position": position,
                f"steps-{index}-name": step.name,
                f"steps-{index}-delay": "0",
                f"steps-{index}-channel": "email",
                f"steps-{index}-kind": "message",
                f"steps-{index}-offer_kind": "",
                f"steps-{index}-DELETE": delete,
            }
        )
    waiting = {step.name: enrol(flow, next_step=step) for step in (a, b, c)}
    response = admin_client.post(flow_url(flow), data, follow=True)
    assert response.redirect_chain, response.context["errors"]
    assert list(flow.steps.order_by("position").values_list("name", "position")) == [
        ("C", 0),
        ("A", 1),
    ]
    # Each contact keeps the step they waited for; B's go on with C, which followed B in
    # the order staff saw when they deleted it (not A, which follows B's place now).
    assert {
        name: Enrollment.objects.get(pk=enrollment.pk).next_step.name
        for name, enrollment in waiting.items()
    } == {"A": "A", "B": "C", "C": "C"}


# --- the list --------------------------------------------------------------------------


def enrol(flow, state="active", **fields):
    contact = ContactFactory()
    return Enrollment.objects.create(
        flow=flow,
        contact=contact,
        trigger_key=f"k{contact.pk}",
        triggered_at=timezone.now(),
        state=state,
        **fields,
    )


def test_the_list_counts_enrollments_with_a_fixed_number_of_queries(admin_client):
    url = reverse("admin:omnichannel_flow_changelist")

    def queries_for_list():
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(url)
        assert response.status_code == 200
        return len(queries), response

    first = make_flow(slug="one", name="One")
    for state in ("active", "active", "completed", "held_out"):
        enrol(first, state)
    one_flow, response = queries_for_list()
    assert '<td class="field-enrolled_count">3</td>' in page(response)
    assert '<td class="field-active_count">2</td>' in page(response)
    for number in range(4):
        enrol(make_flow(slug=f"more-{number}", name=f"More {number}"))
    five_flows, _response = queries_for_list()
    assert five_flows == one_flow
    filtered = admin_client.get(url, {"status__exact": "active", "q": "More 2"})
    assert filtered.context["cl"].result_count == 1


# --- actions -----------------------------------------------------------------------------


def run_action(client, action, *flows):
    return client.post(
        reverse("admin:omnichannel_flow_changelist"),
        {"action": action, "_selected_action": [flow.pk for flow in flows]},
        follow=True,
    )


def test_activation_refuses_flows_with_problems_and_says_why(admin_client):
    ready = make_flow(status="draft", activated_at=None)
    empty = make_flow(slug="empty", name="Empty", status="draft", activated_at=None, steps=[])
    response = run_action(admin_client, "activate", ready, empty)
    ready.refresh_from_db()
    empty.refresh_from_db()
    assert ready.status == "active" and ready.activated_at is not None
    assert empty.status == "draft" and empty.activated_at is None
    assert messages_of(response) == [
        "“Empty” was not activated: The flow has no steps: add at least one message. "
        "(1 problem in all, listed on its page)",
        "1 flow activated.",
    ]


def test_a_refused_activation_is_said_once(admin_client):
    empty = make_flow(status="draft", activated_at=None, steps=[])
    activate = reverse("admin:omnichannel_flow_do", args=[empty.pk, "activate"])
    response = admin_client.post(activate, follow=True)
    assert messages_of(response) == [
        "“Welcome series” was not activated: The flow has no steps: add at least one message. "
        "(1 problem in all, listed on its page)"
    ]


def test_resuming_keeps_the_first_activation_time(admin_client):
    activated = timezone.now() - timedelta(days=9)
    paused = make_flow(status="paused", activated_at=activated)
    draft = make_flow(slug="draft", status="draft", activated_at=None)
    response = run_action(admin_client, "resume", paused, draft)
    paused.refresh_from_db()
    draft.refresh_from_db()
    assert (paused.status, paused.activated_at) == ("active", activated)
    assert draft.status == "draft"  # resume is for paused flows only
    assert messages_of(response) == ["1 flow resumed."]


def test_pause_counts_the_flows_it_paused(admin_client):
    active, paused = make_flow(), make_flow(slug="p", status="paused")
    response = run_action(admin_client, "pause", active, paused)
    assert Flow.objects.filter(status="paused").count() == 2
    assert messages_of(response) == [
        "1 flow paused: its contacts wait where they are until it is resumed."
    ]


def test_archiving_takes_contacts_out_and_cancels_their_waiting_messages(admin_client):
    flow = make_flow()
    inside, done = enrol(flow), enrol(flow, "completed")
    waiting = Message.objects.create(
        idempotency_key="w", contact=inside.contact, channel="email", enrollment=inside,
        scheduled_at=timezone.now(),
    )  # fmt: skip
    response = run_action(admin_client, "archive", flow)
    flow.refresh_from_db()
    inside.refresh_from_db()
    done.refresh_from_db()
    waiting.refresh_from_db()
    assert flow.status == "archived"
    assert (inside.state, inside.exit_reason) == ("exited", "flow archived")
    assert done.state == "completed"
    assert waiting.status == "cancelled"
    assert messages_of(response) == [
        "1 flow archived; 1 contact taken out of it, their waiting messages cancelled."
    ]


def test_duplicate_copies_steps_variants_and_contents_as_a_draft(admin_client):
    flow = make_flow(steps=[("Hello", timedelta(0), "email"), ("Nudge", timedelta(days=1), "sms")])
    enrol(flow)
    hello = flow.steps.get(position=0)
    variant = StepVariant.objects.create(step=hello, name="B", weight=3)
    StepContent.objects.create(step=hello, variant=variant, channel="email", subject="B!")
    run_action(admin_client, "duplicate", flow)
    response = run_action(admin_client, "duplicate", flow)
    copy = Flow.objects.get(slug="welcome-copy")
    assert Flow.objects.filter(slug="welcome-copy-2").exists()
    assert "2 flows" not in messages_of(response)[0] and "(copy)" in messages_of(response)[0]
    assert (copy.status, copy.activated_at, copy.name) == ("draft", None, "Welcome series (copy)")
    assert not copy.enrollments.exists()
    copied = copy.steps.get(position=0)
    assert list(copy.steps.values_list("name", flat=True)) == ["Hello", "Nudge"]
    copied_variant = copied.variants.get()
    assert (copied_variant.name, copied_variant.weight) == ("B", 3)
    assert copied.contents.get(variant=copied_variant).subject == "B!"
    assert copied.contents.filter(variant=None).count() == 1
    assert hello.contents.count() == 2  # the original is untouched


def test_buttons_on_the_flow_page_run_the_actions(admin_client):
    flow = make_flow()
    html = page(admin_client.get(flow_url(flow)))
    assert reverse("admin:omnichannel_flow_do", args=[flow.pk, "pause"]) in html
    pause = reverse("admin:omnichannel_flow_do", args=[flow.pk, "pause"])
    response = admin_client.post(pause)
    assert response.status_code == 302 and response.url == flow_url(flow)
    assert Flow.objects.get().status == "paused"
    assert admin_client.get(pause).status_code == 405
    unknown = reverse("admin:omnichannel_flow_do", args=[flow.pk, "delete_everything"])
    assert admin_client.post(unknown).status_code == 404
    missing = reverse("admin:omnichannel_flow_do", args=[999, "pause"])
    assert admin_client.post(missing).status_code == 302  # to the admin index, with a message
    copy = reverse("admin:omnichannel_flow_do", args=[flow.pk, "duplicate"])
    assert admin_client.post(copy).url == flow_url(flow)
    assert Flow.objects.filter(slug="welcome-copy", status="draft").exists()


def test_copies_of_a_long_slug_stay_within_its_length(admin_client):
    flow = make_flow(slug="s" * 50)
    for _ in range(2):
        run_action(admin_client, "duplicate", flow)
    slugs = sorted(Flow.objects.exclude(pk=flow.pk).values_list("slug", flat=True))
    assert slugs == ["s" * 40 + "-copy", "s" * 40 + "-copy-2"]


@pytest.fixture
def viewer(client):
    """A staff member who may look at flows but not change them."""
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_flow", "view_step"]))
    client.force_login(user)
    return client


def test_staff_who_may_only_view_cannot_change_or_send(viewer):
    flow = make_flow()
    step = flow.steps.get()
    assert viewer.get(flow_url(flow)).status_code == 200
    assert viewer.get(step_url(step, "preview")).status_code == 200
    assert "Send test to me" not in page(viewer.get(step_url(step, "preview")))
    assert (
        viewer.post(reverse("admin:omnichannel_flow_do", args=[flow.pk, "pause"])).status_code
        == 403
    )
    content = step.contents.get()
    assert viewer.post(step_url(step, "send_test"), {"content": content.pk}).status_code == 403
    assert Flow.objects.get().status == "active" and not Message.objects.exists()


# --- what is wrong with a flow -----------------------------------------------------------


def test_a_complete_flow_has_no_problems():
    flow = make_flow(steps=[("Hello", timedelta(0), "email"), ("Push", timedelta(1), "push")])
    step = flow.steps.get(name="Hello")
    step.offer_kind = "free_shipping"  # needs no value
    step.save()
    assert validation.problems(flow) == []


@pytest.mark.parametrize(
    "change, text, blocking",
    [
        (lambda f: f.steps.all().delete(), "The flow has no steps", True),
        (
            lambda f: Flow.objects.filter(pk=f.pk).update(trigger="custom_event"),
            "starts on a custom event but names none",
            True,
        ),
        (
            lambda f: StepContent.objects.all().delete(),
            "Step 1 “Hello” sends by Email but has no Email content.",
            True,
        ),
        (
            lambda f: StepContent.objects.update(subject=""),
            "Step 1 “Hello”, Email has no subject.",
            True,
        ),
        (
            lambda f: StepContent.objects.update(html="{% for %}"),
            "Step 1 “Hello”, Email, HTML: the template does not render",
            True,
        ),
        (
            lambda f: Step.objects.update(offer_kind="percent"),
            "Step 1 “Hello” offers percent off but no value",
            True,
        ),
        (
            lambda f: Step.objects.update(offer_kind="percent", offer_value=Decimal("120")),
            "offers more than 100 % off",
            True,
        ),
        (
            lambda f: StepContent.objects.create(step=f.steps.get(), channel="sms", text="Hi"),
            "Step 1 “Hello” has SMS content but sends by Email: that content is never sent.",
            False,
        ),
        (
            lambda f: StepVariant.objects.create(step=f.steps.get(), name="B", channel="sms"),
            "Step 1 “Hello”, variant “B” sends by SMS but has no SMS content.",
            True,
        ),
    ],
)
def test_problems_say_what_to_fix(change, text, blocking):
    flow = make_flow(steps=[("Hello", timedelta(0), "email")])
    change(flow)
    found = [p for p in validation.problems(Flow.objects.get()) if text in p.text]
    assert found, validation.problems(Flow.objects.get())
    assert found[0].blocking is blocking


def test_channel_specific_problems(settings):
    flow = make_flow(
        steps=[
            ("Best", timedelta(0), "best"),
            ("WA", timedelta(1), "whatsapp"),
            ("Text", timedelta(2), "sms"),
        ]  # fmt: skip
    )
    StepContent.objects.filter(step__name="Best").delete()
    StepContent.objects.filter(step__name="Text").update(text="x" * 200)
    texts = [p.text for p in validation.blocking(flow)]
    assert "Step 1 “Best” goes on the best available channel but has no content" in texts[0]
    assert any("Step 2 “WA”, WhatsApp has no template SID" in t for t in texts)
    assert (
        any(
            "Step 3 “Text”, SMS: the text takes 2 SMS segments, over the budget of 1" in t
            for t in texts
        )
        is False
    )  # the default budget is 2
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, "SMS_SEGMENT_BUDGET": 1}
    texts = [p.text for p in validation.blocking(flow)]
    assert any("Step 3 “Text”, SMS: the text takes 2 SMS segments, over the budget of 1" in t
               for t in texts)  # fmt: skip


# --- the flow page: problems and figures -------------------------------------------------


def test_the_flow_page_shows_problems_and_figures(admin_client):
    flow = make_flow()
    StepContent.objects.update(subject="")
    hello = flow.steps.get()
    inside = enrol(flow, "completed")
    Message.objects.create(
        idempotency_key="m", contact=inside.contact, channel="email", enrollment=inside,
        step=hello, status="sent", scheduled_at=timezone.now(), sent_at=timezone.now(),
    )  # fmt: skip
    response = admin_client.get(flow_url(flow))
    html = page(response)
    assert "To fix before activating:</strong> Step 1 “Welcome”, Email has no subject." in html
    assert "<td>1. Welcome</td><td>email</td>" in html
    assert response.context["figures"]().sent == 1


def test_the_flow_page_costs_the_same_queries_whatever_the_traffic(admin_client):
    flow = make_flow()
    step = flow.steps.get()

    def traffic(count):
        for _ in range(count):
            inside = enrol(flow, "completed")
            Message.objects.create(
                idempotency_key=f"m{inside.pk}", contact=inside.contact, channel="email",
                enrollment=inside, step=step, status="sent", scheduled_at=timezone.now(),
                sent_at=timezone.now(),
            )  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(flow_url(flow)).status_code == 200
        return len(queries)

    assert traffic(1) == traffic(10)


@pytest.mark.parametrize(
    "query, message",
    [
        ({"since": "2026-13-01"}, "Enter a valid date."),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "The period ends before it starts"),
    ],
)
def test_a_bad_period_is_explained_and_all_figures_shown(admin_client, query, message):
    flow = make_flow()
    response = admin_client.get(flow_url(flow), query)
    assert response.status_code == 200
    assert message in page(response)
    assert "What this flow led to" in page(response)


def test_the_period_narrows_the_figures(admin_client):
    flow = make_flow()
    enrol(flow)
    today = timezone.localdate()
    inside = admin_client.get(flow_url(flow), {"since": today.isoformat()})
    before = admin_client.get(flow_url(flow), {"until": (today - timedelta(days=1)).isoformat()})
    assert inside.context["figures"]().enrolled == 1
    assert before.context["figures"]().enrolled == 0


# --- the step page -----------------------------------------------------------------------


def step_data(step, contents=(), variants=(), **fields):
    data = {
        "position": str(step.position + 1),
        "name": step.name,
        "delay": "0",
        "channel": step.channel,
        "kind": step.kind,
        "conditions-rows": "0",
        "min_cart_value": "",
        "offer_kind": "",
        "offer_value": "",
        "offer_prefix": "",
        "offer_valid_for": "3 00:00:00",
        "variants-TOTAL_FORMS": str(len(variants)),
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "contents-TOTAL_FORMS": str(len(contents)),
        "contents-INITIAL_FORMS": "0",
        "contents-MIN_NUM_FORMS": "0",
        "contents-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, variant in enumerate(variants):
        data.update({f"variants-{index}-{k}": v for k, v in {"weight": "1", **variant}.items()})
    for index, content in enumerate(contents):
        defaults = {"locale": "", "variables": "{}", "channel": "email"}
        data.update({f"contents-{index}-{k}": v for k, v in {**defaults, **content}.items()})
    return data


@pytest.fixture
def bare_step():
    flow = make_flow(steps=[("Hello", timedelta(0), "email"), ("Later", timedelta(1), "email")])
    StepContent.objects.all().delete()
    return flow.steps.get(name="Later")


def test_a_step_page_saves_contents_variants_and_returns_to_its_flow(admin_client, bare_step):
    data = step_data(
        bare_step,
        position="1",  # moved before "Hello"
        contents=[{"subject": "Hi", "text": "Hello {{ contact.first_name }}"},
                  {"channel": "whatsapp", "content_sid": "HX123", "variables": '{"1": "x"}'}],
        variants=[{"name": "B", "weight": "2"}],
        **{"conditions-rows": "1", "conditions-0-name": "has_not_ordered"},
    )  # fmt: skip
    response = admin_client.post(step_url(bare_step), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert response.url == flow_url(bare_step.flow)
    bare_step.refresh_from_db()
    assert bare_step.position == 0 and bare_step.conditions == [
        {"name": "has_not_ordered", "params": {}}
    ]
    assert bare_step.flow.steps.get(name="Hello").position == 1
    assert bare_step.contents.get(channel="whatsapp").variables == {"1": "x"}
    assert bare_step.variants.get().weight == 2


@pytest.mark.parametrize(
    "contents, fields, message",
    [
        (
            [{"subject": "A"}, {"subject": "B"}],
            {},
            "Two contents for Email in the default language: keep one",
        ),
        ([{"channel": "whatsapp", "variables": "{1: x"}], {}, "Enter a valid JSON."),
        ([], {"conditions-rows": "1", "conditions-0-name": "has_tag"}, "Has a tag, tag:"),
        ([], {"position": "0"}, "greater than or equal to 1"),
    ],
)
def test_bad_step_input_gets_a_clear_error(admin_client, bare_step, contents, fields, message):
    response = admin_client.post(step_url(bare_step), step_data(bare_step, contents, **fields))
    assert response.status_code == 200
    assert message in page(response)
    assert not bare_step.contents.exists()


def test_the_variant_choice_of_a_content_lists_only_the_steps_variants(admin_client, bare_step):
    StepVariant.objects.create(step=bare_step, name="Mine")
    StepVariant.objects.create(step=bare_step.flow.steps.get(name="Hello"), name="Theirs")
    StepContent.objects.create(step=bare_step, channel="email", subject="x")
    html = page(admin_client.get(step_url(bare_step)))
    assert "/ Mine</option>" in html and "/ Theirs</option>" not in html


@pytest.mark.parametrize("channel, chosen", [("sms", "sms"), ("best", "")])
def test_a_content_added_starts_on_the_steps_channel(admin_client, bare_step, channel, chosen):
    bare_step.channel = channel
    bare_step.save()
    response = admin_client.get(step_url(bare_step))
    added = response.context["inline_admin_formsets"][1].formset.empty_form
    assert (added["channel"].value() or "") == chosen


def test_deleting_a_step_returns_to_its_flow_with_positions_closed_up(admin_client):
    flow = make_flow(
        steps=[
            ("A", timedelta(0), "email"),
            ("B", timedelta(1), "email"),
            ("C", timedelta(2), "email"),
        ]  # fmt: skip
    )
    response = admin_client.post(step_url(flow.steps.get(name="A"), "delete"), {"post": "yes"})
    assert response.status_code == 302 and response.url == flow_url(flow)
    assert list(flow.steps.values_list("name", "position")) == [("B", 0), ("C", 1)]


def test_steps_are_reached_from_their_flow_not_the_index(admin_client):
    make_flow()
    index = page(admin_client.get(reverse("admin:index")))
    assert reverse("admin:omnichannel_flow_changelist") in index
    assert reverse("admin:omnichannel_step_changelist") not in index


# --- preview -----------------------------------------------------------------------------


@pytest.fixture
def hello():
    flow = make_flow(steps=[("Hello", timedelta(0), "email")])
    step = flow.steps.get()
    StepContent.objects.filter(step=step).update(
        html='<p class="x">Hi {{ contact.first_name }}</p>'
    )
    return step


def test_preview_renders_for_a_contact_by_id_or_email(admin_client, hello):
    ann = ContactFactory(first_name="<Ann>", email="ann@example.com")
    for chosen in (str(ann.pk), "Ann@Example.com"):
        response = admin_client.get(step_url(hello, "preview"), {"contact": chosen})
        html = page(response)
        assert response.status_code == 200
        assert "Hello &lt;Ann&gt;" in html  # the subject, as text
        # The HTML part sits, escaped, in a sandboxed frame: the contact's name twice escaped.
        assert 'srcdoc="&lt;p class=&quot;x&quot;&gt;Hi &amp;lt;Ann&amp;gt;&lt;/p&gt;"' in html
        assert "<iframe sandbox " in html


def test_preview_of_an_unknown_contact_falls_back_to_the_sample(admin_client, hello):
    response = admin_client.get(step_url(hello, "preview"), {"contact": "999"}, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == ["No contact “999”: showing the sample contact instead."]
    assert "Hello Alex" in page(response)


def test_preview_shows_a_broken_template_and_bad_choices_without_failing(admin_client, hello):
    StepContent.objects.update(subject="{% if %}")
    response = admin_client.get(step_url(hello, "preview"), {"variant": "abc"})
    assert response.status_code == 200
    assert "This template does not render:" in page(response)
    assert messages_of(response) == ["That variant is not one of this step's."]
    missing = admin_client.get(reverse("admin:omnichannel_step_preview", args=[999]))
    assert missing.status_code == 302


def test_preview_of_sms_counts_segments(admin_client):
    flow = make_flow(steps=[("Text", timedelta(0), "sms")])
    StepContent.objects.update(text="ы" * 100)  # not GSM: 67 characters a segment
    assert "2 SMS segments" in page(admin_client.get(step_url(flow.steps.get(), "preview")))


# --- send test to me ---------------------------------------------------------------------


def test_send_test_emails_the_staff_member_and_writes_nothing(admin_client, hello, mailoutbox):
    content = hello.contents.get()
    ann = ContactFactory(first_name="Ann", email="ann@example.com")
    url = step_url(hello, "send_test")
    response = admin_client.post(url, {"content": content.pk, "contact": ann.pk})
    assert response.status_code == 302
    assert response.url == step_url(hello, "preview") + f"?contact={ann.pk}"
    [said] = messages_of(admin_client.post(url, {"content": content.pk}, follow=True))[1:]
    assert said == "Test Email sent to admin@example.com."
    first, second = mailoutbox
    assert first.to == second.to == ["admin@example.com"]
    assert (first.subject, second.subject) == ("Hello Ann", "Hello Alex")  # as previewed
    # No contact for the staff member, no outbox row, nothing on Ann's timeline.
    assert list(Contact.objects.all()) == [ann] and not Message.objects.exists()


def test_send_test_without_an_email_address_says_so(admin_client, admin_user, hello):
    admin_user.email = ""
    admin_user.save()
    response = admin_client.post(
        step_url(hello, "send_test"), {"content": hello.contents.get().pk}, follow=True
    )
    assert "Your user account has no email address" in messages_of(response)[0]
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "posted, message",
    [
        ({}, "Type the phone number to send the test to."),
        ({"phone": "12"}, "Enter the phone number with its country code"),
        ({"phone": "+33612345678", "contact": "999"}, "That contact does not exist."),
        ({"phone": "+33612345678", "content": "999"}, "not one of this step"),
    ],
)
def test_send_test_by_sms_needs_a_valid_phone(admin_client, posted, message):
    flow = make_flow(steps=[("Text", timedelta(0), "sms")])
    step = flow.steps.get()
    data = {"content": step.contents.get().pk, **posted}
    response = admin_client.post(step_url(step, "send_test"), data, follow=True)
    assert message in messages_of(response)[0]
    assert not Message.objects.exists()


def test_send_test_by_sms_goes_to_the_phone_typed_even_a_customers(admin_client, locmem_channels):
    flow = make_flow(steps=[("Text", timedelta(0), "sms")])
    step = flow.steps.get()
    step.contents.update(text="Hi {{ contact.first_name }}")
    customer = ContactFactory(phone="+33612345678", first_name="Zoe")
    data = {"content": step.contents.get().pk, "phone": "+33 6 12 34 56 78"}
    said = messages_of(admin_client.post(step_url(step, "send_test"), data, follow=True))
    assert said == ["Test SMS sent to +33612345678."]
    [(channel, to, rendered, _uuid)] = locmem_channels
    assert (channel, to, rendered) == ("sms", "+33612345678", {"text": "Hi Alex"})
    assert not Message.objects.exists() and list(Contact.objects.all()) == [customer]


def test_send_test_says_what_the_backend_answered(admin_client):
    flow = make_flow(steps=[("Text", timedelta(0), "sms")])
    step = flow.steps.get()
    data = {"content": step.contents.get().pk, "phone": "+33612345678"}
    [said] = messages_of(admin_client.post(step_url(step, "send_test"), data, follow=True))
    assert said.startswith("No test sent: the SMS backend said: No backend for the 'sms'")


def test_send_test_by_push_goes_to_the_staff_members_own_subscribed_browsers(
    admin_client, locmem_channels
):
    flow = make_flow(steps=[("Push", timedelta(0), "push")])
    step = flow.steps.get()
    data = {"content": step.contents.get().pk}
    [said] = messages_of(admin_client.post(step_url(step, "send_test"), data, follow=True))
    assert said.startswith("No test sent: No browser is subscribed to push under admin@")
    assert not Contact.objects.exists() and locmem_channels == []
    own = ContactFactory(email="admin@example.com")
    PushSubscription.objects.create(
        contact=own, endpoint="https://push.example/1", p256dh="k", auth="a"
    )
    [said] = messages_of(admin_client.post(step_url(step, "send_test"), data, follow=True))
    assert said == "Test Web push sent to admin@example.com."
    [(channel, to, rendered, _uuid)] = locmem_channels
    assert (channel, to, rendered["title"]) == ("push", str(own.uuid), "Push")
    assert not Message.objects.exists()


def test_send_test_refuses_a_variable_the_step_cannot_fill(admin_client, hello, mailoutbox):
    StepContent.objects.update(text="Your code {{ discount.code }}")
    response = admin_client.post(
        step_url(hello, "send_test"), {"content": hello.contents.get().pk}, follow=True
    )
    [said] = messages_of(response)
    assert said.startswith("No test sent: the text uses {{ discount.code }}, but this step")
    assert mailoutbox == []


def test_the_inbox_has_no_test_send(admin_client):
    flow = make_flow(steps=[("Inbox", timedelta(0), "inbox")])
    step = flow.steps.get()
    data = {"content": step.contents.get().pk}
    [said] = messages_of(admin_client.post(step_url(step, "send_test"), data, follow=True))
    assert "the on-site inbox has no test send" in said and not Message.objects.exists()


def test_send_test_refuses_content_that_does_not_render(admin_client, hello):
    StepContent.objects.update(subject="{{ contact.first_name|nosuchfilter }}")
    response = admin_client.post(
        step_url(hello, "send_test"), {"content": hello.contents.get().pk}, follow=True
    )
    assert "the subject does not render" in messages_of(response)[0]
    assert not Message.objects.exists()
    assert admin_client.get(step_url(hello, "send_test")).status_code == 405


# --- dry run -----------------------------------------------------------------------------


def test_dry_run_page_for_new_and_enrolled_contacts(admin_client, locmem_channels):
    flow = make_flow(steps=[("Hello", timedelta(0), "email"), ("Text", timedelta(1), "sms")])
    ContactFactory(email="fresh@example.com", consents=["email"])
    held = enrol(flow, "held_out")
    inside = enrol(
        flow,
        next_step=flow.steps.get(position=1),
        next_step_at=timezone.now() + timedelta(hours=3),
    )
    url = flow_url(flow, "dry_run")
    newest = page(admin_client.get(url))
    assert "fresh@example.com" in newest and "Skipped: no marketing consent for SMS" in newest
    assert f'{held.contact}</td><td colspan="4">Gets nothing: already in this flow' in newest
    enrolled = page(admin_client.get(url, {"who": "enrolled"}))
    assert "fresh@example.com" not in enrolled
    assert "Gets nothing: held out: receives nothing" in enrolled
    assert str(inside.contact) in enrolled and "Already past" in enrolled
    tampered = admin_client.get(url, {"who": "everyone", "start": "yesterday"})
    assert tampered.status_code == 200 and "Select a valid choice" in page(tampered)
    assert (
        admin_client.get(reverse("admin:omnichannel_flow_dry_run", args=[999])).status_code == 302
    )


def test_preview_marks_a_variable_the_step_cannot_fill(admin_client):
    flow = make_flow(steps=[("Text", timedelta(0), "sms")])
    step = flow.steps.get()
    step.contents.update(text="Your code {{ discount.code }} is waiting")
    html = page(admin_client.get(step_url(step, "preview")))
    assert (
        'Your code <mark class="oc-variable oc-unprovided" style="background:#fcc">'
        "{{ discount.code }}</mark> is waiting"
    ) in html
    assert "Uses {{ discount.code }}, but this step has no offer" in html


def test_the_step_page_lists_the_variables_the_step_provides(admin_client, hello):
    html = page(admin_client.get(step_url(hello, "change")))
    assert 'data-tag="{{ contact.first_name }}"' in html
    assert "{{ discount.code }}" not in html and "{{ cart.value }}" not in html
    hello.offer_kind, hello.offer_value = "percent", Decimal("10")
    hello.save()
    assert 'data-tag="{{ discount.code }}"' in page(admin_client.get(step_url(hello, "change")))
