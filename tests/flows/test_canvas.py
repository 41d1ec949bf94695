"""Saving the canvas: the posted graph becomes the flow's steps, or is refused with named
problems; waiting contacts keep their step; copies keep the layout."""

import json
from datetime import time, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

import omnichannel
from omnichannel.flows.canvas import CanvasError, apply_canvas
from omnichannel.flows.engine import enroll
from omnichannel.flows.graph import flow_graph
from omnichannel.flows.lifecycle import copy_flow
from omnichannel.models import Step
from omnichannel.models.flows import FlowStatus
from omnichannel.testing.factories import ContactFactory
from tests.test_admin_permissions import staff

from .conftest import make_flow

pytestmark = pytest.mark.django_db


def node(node_id, name, kind="message", delay="0 minutes", **extra):
    return {"id": node_id, "kind": kind, "name": name, "delay": delay, "channel": "email",
            "x": 10, "y": 20, **extra}  # fmt: skip


def edge(source, target, branch=None):
    return {"from": source, "to": target, "branch": branch}


@pytest.fixture
def draft():
    return make_flow(
        status=FlowStatus.DRAFT,
        activated_at=None,
        steps=[("Hello", timedelta(0), "email"), ("Again", timedelta(days=1), "email")],
    )


def ids(flow):
    return {s.name: f"step:{s.pk}" for s in flow.steps.all()}


def test_reorder_and_add_keeps_ids_and_sets_paths(draft):
    step = ids(draft)
    payload = {
        "nodes": [
            node(step["Again"], "Again", delay="2 hours"),
            node(step["Hello"], "Hello"),
            node("new:1", "Bye", kind="exit"),
        ],  # fmt: skip
        "edges": [
            edge("trigger:signup", step["Again"]),
            edge(step["Again"], step["Hello"]),
            edge(step["Hello"], "new:1"),
        ],  # fmt: skip
    }
    layout = apply_canvas(draft, payload)
    steps = list(draft.steps.order_by("position"))
    assert [s.name for s in steps] == ["Again", "Hello", "Bye"]
    assert steps[0].delay == timedelta(hours=2)
    assert steps[0].next_step == steps[1] and steps[1].next_step == steps[2]
    assert set(layout) == {str(s.pk) for s in steps}


def test_a_delay_may_wait_until_a_time_of_day_and_reads_back(draft):
    step = ids(draft)
    apply_canvas(
        draft,
        {
            "nodes": [node(step["Hello"], "Hello", delay="1 day, then until 10:00")],
            "edges": [edge("trigger:signup", step["Hello"])],
        },
    )
    hello = draft.steps.get()
    assert (hello.delay, hello.wait_until) == (timedelta(days=1), time(10))
    shown = flow_graph(draft)["nodes"][1]["delay_text"]
    apply_canvas(
        draft,
        {"nodes": [node(step["Hello"], "Hello", delay=shown)],
         "edges": [edge("trigger:signup", step["Hello"])]},
    )  # fmt: skip
    hello.refresh_from_db()
    assert (hello.delay, hello.wait_until) == (timedelta(days=1), time(10))
    apply_canvas(
        draft,
        {"nodes": [node(step["Hello"], "Hello", delay="2 hours")],
         "edges": [edge("trigger:signup", step["Hello"])]},
    )  # fmt: skip
    hello.refresh_from_db()
    assert (hello.delay, hello.wait_until) == (timedelta(hours=2), None)


def test_a_deleted_step_moves_its_waiting_contacts_on(draft):
    step = ids(draft)
    draft.status, draft.activated_at = FlowStatus.ACTIVE, timezone.now() - timedelta(days=1)
    draft.save()
    enrollment = enroll(draft, ContactFactory(consents=["email"]), trigger_key="k")
    enrollment.next_step = Step.objects.get(name="Hello")
    enrollment.save()
    apply_canvas(
        draft,
        {"nodes": [node(step["Again"], "Again")], "edges": [edge("trigger:signup", step["Again"])]},
    )
    enrollment.refresh_from_db()
    assert enrollment.next_step.name == "Again"


@pytest.mark.parametrize(
    "nodes, edges, words",
    [
        ([node("new:1", "A"), node("new:2", "B")],
         [edge("trigger:signup", "new:1"), edge("new:1", "new:2"), edge("new:2", "new:1")],
         "loop"),
        ([node("new:1", "A"), node("new:2", "B")], [edge("trigger:signup", "new:1")],
         "no path"),
        ([node("new:1", "A", kind="split")], [edge("trigger:signup", "new:1")], "both"),
        ([node("new:1", "A", delay="30")], [edge("trigger:signup", "new:1")], "of what"),
        # "no" drawn to "Flow completed" while "yes" goes on: saved, it would lead on too.
        ([node("new:1", "A", kind="split"), node("new:2", "B"), node("new:3", "C", kind="exit")],
         [edge("trigger:signup", "new:1"), edge("new:1", "new:2", "yes"),
          edge("new:1", "end", "no"), edge("new:2", "new:3")],
         "“A”: its “no” path ends"),
    ],
)  # fmt: skip
def test_refusals_are_named_and_change_nothing(draft, nodes, edges, words):
    before = list(draft.steps.values_list("pk", "name"))
    with pytest.raises(CanvasError) as refused:
        apply_canvas(draft, {"nodes": nodes, "edges": edges})
    assert any(words in p["text"] for p in refused.value.problems)
    assert list(draft.steps.values_list("pk", "name")) == before


def test_an_active_flow_is_refused_a_graph_with_activation_problems(draft):
    draft.status = FlowStatus.ACTIVE
    draft.save()
    with pytest.raises(CanvasError) as refused:
        apply_canvas(draft, {"nodes": [node("new:1", "Empty")],
                             "edges": [edge("trigger:signup", "new:1")]})  # fmt: skip
    assert any("no Email content" in p["text"] for p in refused.value.problems)
    assert draft.steps.count() == 2


def test_endpoint_saves_and_refuses(admin_client, draft):
    url = reverse("admin:omnichannel_flow_canvas", args=[draft.pk])
    step = ids(draft)
    good = {
        "nodes": [node(step["Hello"], "Hello")],
        "edges": [edge("trigger:signup", step["Hello"])],
    }
    response = admin_client.post(url, json.dumps(good), content_type="application/json")
    assert response.status_code == 200 and draft.steps.count() == 1
    response = admin_client.post(url, "nonsense", content_type="application/json")
    assert response.status_code == 400 and response.json()["problems"]
    assert admin_client.get(url).status_code == 405


def test_copy_flow_remaps_the_layout(draft):
    draft.canvas_layout = {str(s.pk): {"x": s.position, "y": 0} for s in draft.steps.all()}
    draft.save()
    copy = copy_flow(draft)
    assert {int(k) for k in copy.canvas_layout} == set(copy.steps.values_list("pk", flat=True))


def test_the_flow_page_carries_the_canvas_in_the_admins_language(admin_client, draft):
    page = admin_client.get(
        reverse("admin:omnichannel_flow_change", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    )
    config = json.loads(_script(page, "oc-canvas-config"))
    assert config["editable"] is True
    assert config["graphUrl"] == reverse("admin:omnichannel_flow_graph", args=[draft.pk])
    assert config["words"]["kinds"]["trigger"] == "Déclencheur"
    assert config["words"]["figures"]["converted"] == "conversions"
    assert config["stepUrl"].replace("__pk__", "7") == reverse(
        "admin:omnichannel_step_change", args=[7]
    )
    html = page.content.decode()
    assert "Le scénario en graphe" in html and "Au clavier : Tab jusqu’à un nœud" in html


def _script(response, element_id):
    """The JSON of a ``json_script`` element of the page."""
    html = response.content.decode()
    start = html.index(f'<script id="{element_id}" type="application/json">')
    return html[html.index(">", start) + 1 : html.index("</script>", start)]


def test_staff_who_may_only_view_the_flow_get_a_canvas_that_does_not_edit(draft):
    viewer = staff("viewer", permissions=Permission.objects.filter(codename="view_flow"))
    page = viewer.get(reverse("admin:omnichannel_flow_change", args=[draft.pk]))
    assert json.loads(_script(page, "oc-canvas-config"))["editable"] is False


def test_the_package_ships_drawflow_built_with_its_licence():
    app = Path(omnichannel.__file__).resolve().parent
    vendor = app / "static" / "omnichannel" / "admin" / "vendor" / "drawflow"
    assert {"drawflow.min.js", "drawflow.min.css", "LICENSE", "README.txt"} <= {
        file.name for file in vendor.iterdir()
    }
    assert (vendor / "LICENSE").read_text().startswith("MIT License")
    assert "Drawflow 0.0.60" in (vendor / "README.txt").read_text()
    setup = (app.parent / "setup.cfg").read_text()
    assert "static/**/*" in setup.split("[options.package_data]")[1].split("[")[0]
