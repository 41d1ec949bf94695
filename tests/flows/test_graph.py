"""The flow as a graph for the canvas: its shape, its figures, their cost in queries, and
the admin's JSON view of it."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from omnichannel.carts.orders import record_order
from omnichannel.flows.engine import advance_due, enroll, exit_for_goal
from omnichannel.flows.graph import flow_graph
from omnichannel.integrations.adapter import OrderData
from omnichannel.models import DeliveryEvent, Enrollment, Message
from omnichannel.testing.factories import ContactFactory

from .conftest import make_flow
from .test_paths import split_flow  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def later(**delta):
    return timezone.now() + timedelta(**delta)


def run(flow, contacts, days=(0, 2, 3, 4, 5)):
    for index, contact in enumerate(contacts):
        enroll(flow, contact, trigger_key=f"k{index}:{contact.pk}")
    for day in days:
        advance_due(now=later(days=day, minutes=1))


def sent(step_name, *, clicked=False):
    """Mark the messages of ``step_name`` sent (12 hours ago: inside the shortest window of
    the ATTRIBUTION defaults, a day), clicked if asked."""
    at = timezone.now() - timedelta(hours=12)
    messages = Message.objects.filter(step__name=step_name)
    messages.update(status="sent", sent_at=at)
    for message in messages if clicked else ():
        DeliveryEvent.objects.create(message=message, kind="clicked", occurred_at=at)


@pytest.fixture
def story(split_flow):  # noqa: F811
    """Ann (SMS consent) and Bob (email only) go all the way; Ann clicked her text and
    bought after it. Cat waits at the split; Dan left on the order goal."""
    ann = ContactFactory(phone="+33612345678", consents=["email", "sms"])
    bob = ContactFactory(consents=["email"])
    run(split_flow, [ann, bob])
    sent("Hello")
    sent("Text", clicked=True)
    record_order(OrderData(order_key="o1", total=Decimal("42.50"), currency="EUR"), ann)
    cat, dan = ContactFactory(consents=["email"]), ContactFactory(consents=["email"])
    run(split_flow, [cat, dan], days=[0])
    exit_for_goal(dan, "ordered")
    return split_flow


def by_id(graph):
    return {node["id"]: node for node in graph["nodes"]}


def test_the_shape_every_step_knows_its_ways(split_flow):  # noqa: F811
    graph = flow_graph(split_flow)
    ids = {s.name: f"step:{s.pk}" for s in split_flow.steps.all()}
    nodes = by_id(graph)
    assert [n["type"] for n in graph["nodes"]] == [
        "trigger", "message", "split", "message", "message", "message", "exit", "message",
        "end", "goal",
    ]  # fmt: skip
    split = nodes[ids["Agreed to SMS?"]]
    assert (split["delay"], split["delay_text"]) == (2 * 86400, "2 days")
    assert split["conditions"] == [{"name": "consent_for", "params": {"channel": "sms"}}]
    assert nodes[ids["Text"]]["channel"] == "sms"
    ways = {(e["from"], e["to"], e["branch"]) for e in graph["edges"]}
    assert ways == {
        ("trigger:signup", ids["Hello"], None),
        (ids["Hello"], ids["Agreed to SMS?"], None),
        (ids["Agreed to SMS?"], ids["Text"], "yes"),
        (ids["Agreed to SMS?"], ids["Email"], "no"),
        (ids["Text"], ids["Thanks"], None),
        (ids["Email"], ids["Thanks"], None),
        (ids["Thanks"], ids["End"], None),
        (ids["Never reached"], "end", None),  # the last step: its path runs out
    }


def test_the_figures_on_every_node_and_way(story):
    graph = flow_graph(story)
    ids = {s.name: f"step:{s.pk}" for s in story.steps.all()}
    nodes = by_id(graph)
    assert nodes["trigger:signup"]["figures"] == {"entered": 4, "held_out": 0}
    hello = nodes[ids["Hello"]]["figures"]
    assert (hello["entered"], hello["waiting"], hello["sent"], hello["clicked"]) == (4, 0, 2, 0)
    assert nodes[ids["Agreed to SMS?"]]["figures"] == {"entered": 2, "waiting": 1}
    text = nodes[ids["Text"]]["figures"]
    assert text == {
        "entered": 1, "waiting": 0, "sent": 1, "clicked": 1, "converted": 1, "revenue": "42.50",
    }  # fmt: skip
    assert nodes[ids["Email"]]["figures"]["sent"] == 0  # queued, not sent yet
    assert nodes[ids["End"]]["figures"] == {"entered": 2, "waiting": 0}
    assert nodes["end"]["figures"] == {"completed": 2}
    # Dan left on the goal; only Ann bought in the window (the sweeper saw no order of his).
    assert nodes["goal:ordered"]["figures"] == {"exited": 1, "converted": 1, "revenue": "42.50"}
    contacts = {(e["from"], e["branch"]): e["contacts"] for e in graph["edges"]}
    assert contacts[ids["Agreed to SMS?"], "yes"] == 1
    assert contacts[ids["Agreed to SMS?"], "no"] == 1
    assert contacts[ids["Thanks"], None] == 2


def test_the_period_picks_the_cohort(story):
    graph = flow_graph(story, start=later(days=1))
    assert by_id(graph)["trigger:signup"]["figures"] == {"entered": 0, "held_out": 0}
    assert graph["period"]["start"] and graph["period"]["end"] is None


def test_several_triggers_each_count_their_own(split_flow):  # noqa: F811
    split_flow.also_triggered_by = ["popup_subscribed"]
    split_flow.save()
    enroll(split_flow, ContactFactory(), trigger_key="p", trigger="popup_subscribed")
    enroll(split_flow, ContactFactory(), trigger_key="s")
    # Written without its trigger (by hand): it came by the main one.
    Enrollment.objects.create(
        flow=split_flow, contact=ContactFactory(), trigger_key="h", state="held_out",
        triggered_at=timezone.now(),
    )  # fmt: skip
    graph = flow_graph(split_flow)
    nodes = by_id(graph)
    assert nodes["trigger:signup"]["figures"] == {"entered": 1, "held_out": 1}
    assert nodes["trigger:popup_subscribed"]["figures"] == {"entered": 1, "held_out": 0}
    first = f"step:{split_flow.steps.get(name='Hello').pk}"
    assert {e["from"] for e in graph["edges"] if e["to"] == first} == {
        "trigger:signup", "trigger:popup_subscribed",
    }  # fmt: skip


def test_a_bounded_number_of_queries_whatever_the_size(story, django_assert_num_queries):
    with django_assert_num_queries(7):
        flow_graph(story)
    run(story, [ContactFactory(consents=["email", "sms"]) for _ in range(6)])
    sent("Thanks", clicked=True)
    with django_assert_num_queries(7):
        flow_graph(story)


def test_a_flow_without_steps_leads_from_its_trigger_to_the_end():
    flow = make_flow(slug="empty", steps=[])
    graph = flow_graph(flow)
    assert graph["edges"] == [
        {"from": "trigger:signup", "to": "end", "branch": None, "contacts": 0}
    ]


class TestAdminView:
    def url(self, flow):
        return reverse("admin:omnichannel_flow_graph", args=[flow.pk])

    def test_staff_who_may_view_flows_get_the_graph(self, client, story):
        user = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="view_flow"))
        client.force_login(user)
        response = client.get(self.url(story), {"since": "2000-01-01"})
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        graph = json.loads(response.content)
        assert graph["flow"]["slug"] == "split" and graph["period"]["start"].startswith("2000")
        assert graph == json.loads(
            json.dumps(flow_graph(story, datetime.fromisoformat(graph["period"]["start"])))
        )

    def test_staff_without_the_permission_are_refused(self, client, story):
        user = get_user_model().objects.create_user("nobody", password="x", is_staff=True)
        client.force_login(user)
        assert client.get(self.url(story)).status_code == 403

    def test_visitors_go_to_the_login(self, client, story):
        response = client.get(self.url(story))
        assert response.status_code == 302 and "/login/" in response["Location"]

    def test_a_bad_period_is_a_clear_error(self, admin_client, story):
        response = admin_client.get(self.url(story), {"since": "2026-02-01", "until": "2026-01-01"})
        assert response.status_code == 400
        [error] = json.loads(response.content)["errors"]["__all__"]
        assert error["message"] == "The period ends before it starts: swap the dates."
        response = admin_client.get(self.url(story), {"since": "soon"})
        assert response.status_code == 400 and "since" in json.loads(response.content)["errors"]

    def test_an_unknown_flow_is_a_404(self, admin_client, story):
        response = admin_client.get(reverse("admin:omnichannel_flow_graph", args=[9999]))
        assert response.status_code == 404
