"""A flow as a graph, for the canvas that draws it: triggers, steps, ends and goals as
nodes, the ways between them as edges, and the live figures on each, as JSON.

The figures follow the same cohort as ``analytics.flow_figures``: the enrollments
triggered in the chosen period (held-out contacts are counted apart, on the triggers).

* a trigger: ``entered`` (went into the flow by it), ``held_out``;
* a step: ``entered`` (the step acted on them: a message queued or skipped, a split
  decided, an end reached), ``waiting`` (due there next), and for messages ``sent``,
  ``clicked``, ``converted`` (orders credited to the step, ``carts.attribution``) and
  ``revenue``;
* an edge: ``contacts`` who went that way (a split: each of its two ways);
* ``end`` (where a path runs out of steps) and the end steps: ``completed`` in total;
* a goal: ``exited`` (left the flow on reaching it); the order goal also ``converted``
  (bought within the flow's conversion window, as the flow's conversion rate counts).

A fixed number of queries, whatever the flow's size or its period.
"""

from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db.models import Count
from django.utils import translation

from ..core.durations import describe_wait
from ..models import StepVisit
from ..models.flows import EnrollmentState, ExitGoal, StepKind, Trigger
from .analytics import FlowFigures, cohort_of, enrollment_counts, message_rows
from .paths import Paths

END = "end"


def node_id(kind, key):
    return f"{kind}:{key}"


def flow_graph(flow, start=None, end=None):
    """The graph of ``flow`` with its figures for enrollments triggered in ``[start,
    end)`` (aware datetimes; None leaves that side open), as a JSON-ready dict."""
    cohort = cohort_of(flow, start, end)
    paths = Paths(flow.steps.order_by("position", "id"))
    figures = FlowFigures(**enrollment_counts(cohort, flow.conversion_window))
    per_step = _per_step(message_rows(flow, cohort, figures))
    states = _states(cohort, flow.trigger)
    visits = _visits(cohort)
    waiting = dict(
        cohort.filter(state=EnrollmentState.ACTIVE, next_step__isnull=False)
        .values_list("next_step")
        .annotate(n=Count("pk"))
        .order_by()
    )
    nodes = [_trigger_node(flow, trigger, states) for trigger in flow.triggers]
    nodes += [_step_node(step, visits, waiting, per_step) for step in paths.steps]
    nodes.append({"id": END, "type": "end", "figures": {"completed": states["completed"]}})
    revenue = sum((Decimal(sums["revenue"]) for sums in per_step.values()), Decimal(0))
    nodes += [_goal_node(goal, states, figures, revenue) for goal in flow.exit_goals]
    first = node_id("step", paths.first.pk) if paths.first else END
    edges = [
        {"from": node["id"], "to": first, "branch": None, "contacts": node["figures"]["entered"]}
        for node in nodes[: len(flow.triggers)]
    ]
    for step in paths.steps:
        for branch, following in paths.successors(step):
            edges.append(
                {
                    "from": node_id("step", step.pk),
                    "to": node_id("step", following.pk) if following else END,
                    "branch": {True: "yes", False: "no", None: None}[branch],
                    "contacts": visits[step.pk, branch],
                }
            )
    return {
        "flow": {"id": flow.pk, "name": flow.name, "slug": flow.slug, "status": flow.status},
        "period": {
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
        },
        "currencies": sorted(figures.order_currencies),
        "nodes": nodes,
        "edges": edges,
        "layout": flow.canvas_layout,
    }


def _per_step(rows):
    """``analytics.message_rows`` summed per step (over channels and variants)."""
    per_step = defaultdict(lambda: {"sent": 0, "clicked": 0, "conversions": 0, "revenue": 0})
    for (step_id, _channel, _variant), values in rows.items():
        for name, total in per_step[step_id].items():
            per_step[step_id][name] = total + (values.get(name) or 0)
    return per_step


def _states(cohort, main_trigger):
    """Entered and held out per trigger, completed in all, exited per reason: one query.
    A row written without its trigger (by hand, say) came by the main one."""
    states = {"entered": defaultdict(int), "held_out": defaultdict(int), "completed": 0}
    states["exited"] = defaultdict(int)
    for trigger, state, reason, n in (
        cohort.values_list("trigger", "state", "exit_reason").annotate(n=Count("pk")).order_by()
    ):
        trigger = trigger or main_trigger
        if state == EnrollmentState.HELD_OUT:
            states["held_out"][trigger] += n
            continue
        states["entered"][trigger] += n
        if state == EnrollmentState.COMPLETED:
            states["completed"] += n
        elif state == EnrollmentState.EXITED:
            states["exited"][reason] += n
    return states


def _visits(cohort):
    """``{(step id, branch): contacts}``, and ``{step id: contacts}`` under ``(id, None)``
    for every step: one query."""
    visits = defaultdict(int)
    counted = (
        StepVisit.objects.filter(enrollment__in=cohort.values("pk"))
        .values_list("step", "branch")
        .annotate(n=Count("enrollment", distinct=True))
        .order_by()
    )
    for step_id, branch, n in counted:
        visits[step_id, branch] += n
        if branch is not None:
            visits[step_id, None] += n
    return visits


def _trigger_node(flow, trigger, states):
    return {
        "id": node_id("trigger", trigger),
        "type": "trigger",
        "trigger": trigger,
        "label": str(Trigger(trigger).label) if trigger in Trigger.values else trigger,
        "event": flow.trigger_event if trigger == Trigger.CUSTOM_EVENT else "",
        "figures": {
            "entered": states["entered"][trigger],
            "held_out": states["held_out"][trigger],
        },
    }


def _step_node(step, visits, waiting, per_step):
    node = {
        "id": node_id("step", step.pk),
        "type": step.kind,
        "step": step.pk,
        "position": step.position + 1,
        "name": step.name,
        "delay": step.delay.total_seconds(),
        "wait_until": step.wait_until.isoformat() if step.wait_until else None,
        "delay_text": describe_wait(step.delay, step.wait_until),
        "figures": {"entered": visits[step.pk, None], "waiting": waiting.get(step.pk, 0)},
    }
    if step.kind == StepKind.SPLIT:
        node["conditions"] = step.conditions
    elif step.kind == StepKind.MESSAGE:
        sums = per_step[step.pk]
        node.update(channel=step.channel, offer=step.offer_kind, conditions=step.conditions)
        node["figures"].update(
            sent=sums["sent"],
            clicked=sums["clicked"],
            converted=sums["conversions"],
            revenue=money(sums["revenue"]),
        )
    return node


def _goal_node(goal, states, figures, revenue):
    labels = _labels_in_every_language(goal)
    node = {
        "id": node_id("goal", goal),
        "type": "goal",
        "goal": goal,
        "label": str(ExitGoal(goal).label) if goal in ExitGoal.values else goal,
        "figures": {"exited": sum(n for r, n in states["exited"].items() if r in labels)},
    }
    if goal == ExitGoal.ORDERED:
        node["figures"].update(converted=figures.enrolled_converted, revenue=money(revenue))
    return node


def money(amount):
    """As orders store it (two decimals), whatever the database's sum returned."""
    return str(Decimal(amount).quantize(CENT))


CENT = Decimal("0.01")


def _labels_in_every_language(goal):
    """An exit is recorded with its goal's label, in the language of the moment."""
    if goal not in ExitGoal.values:
        return set()
    labels = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels.add(str(ExitGoal(goal).label))
    return labels
