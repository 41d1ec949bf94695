"""Saving a flow drawn on the canvas: the posted graph becomes the flow's steps and the ways
between them, in one transaction, or nothing changes and the problems are named.

The payload is ``{"nodes": [...], "edges": [...]}``. A node is a step: ``id`` (``step:<pk>``
for an existing step, anything else, e.g. ``new:1``, for a new one), ``kind`` (message,
split, exit), ``name``, ``channel``, ``delay`` in words ("2 hours", "until 10:00", "1 day,
then until 10:00": ``core.durations.parse_wait``; the time is the contact's),
optionally ``conditions`` and ``x`` / ``y`` (kept in ``Flow.canvas_layout``). An edge is
``{"from", "to", "branch"}``: ``branch`` is ``yes`` / ``no`` out of a split, empty
otherwise; an edge from a ``trigger:...`` node names the first step.

Refused: a cycle, a node no path from the trigger reaches, a split without both paths, a
delay that does not read, a path that stops on a message not last in the order or a
split's path to ``end`` while steps follow the split (end either with an end node: a
split's empty way means the next step in the order), and for an active flow, a graph with
activation problems.

Steps missing from the payload are deleted first, as the step admin deletes them
(``paths.step_deleted``): contacts waiting for one go on to the step that followed it
before the change (completing when nothing did). Contacts waiting for a kept step keep
waiting for it, by id, wherever it now stands.
"""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ..core.durations import DelayError, parse_wait
from ..models import Flow, Step
from ..models.flows import STEP_CHANNELS, FlowStatus, StepKind
from . import validation

STEP_PREFIX = "step:"
TRIGGER_PREFIX = "trigger:"
END = "end"


class CanvasError(Exception):
    """The graph is refused: ``problems`` is ``[{"text", "node"}]`` (node id or None)."""

    def __init__(self, problems):
        super().__init__(problems)
        self.problems = problems


def apply_canvas(flow, payload):
    """Make ``flow`` what ``payload`` draws; raises ``CanvasError``. Returns the layout."""
    nodes, order, successors = _read(flow, payload)
    with transaction.atomic():
        Flow.objects.select_for_update().filter(pk=flow.pk).first()
        kept = {_step_pk(node["id"]) for node in nodes.values()} - {None}
        for step in Step.objects.filter(flow=flow).exclude(pk__in=kept).order_by("position"):
            step.delete()
        steps = {}
        for position, node_id in enumerate(order):
            node = nodes[node_id]
            pk = _step_pk(node_id)
            step = Step.objects.get(pk=pk) if pk else Step(flow=flow)
            step.position, step.kind, step.name = position, node["kind"], node["name"]
            step.delay, step.wait_until = node["delay"], node["wait_until"]
            step.channel = node["channel"]
            if "conditions" in node:
                step.conditions = node["conditions"]
            step.next_step = step.no_next_step = None
            step.save()
            steps[node_id] = step
        for node_id, step in steps.items():
            step.next_step = steps.get(successors.get((node_id, "yes")))
            step.no_next_step = steps.get(successors.get((node_id, "no")))
        Step.objects.bulk_update(steps.values(), ["next_step", "no_next_step"])
        flow.canvas_layout = {
            str(steps[node_id].pk): {"x": nodes[node_id]["x"], "y": nodes[node_id]["y"]}
            for node_id in order
        }
        flow.save(update_fields=["canvas_layout", "updated_at"])
        if flow.status == FlowStatus.ACTIVE:
            found = validation.blocking(flow)
            if found:
                by_step = {step.pk: node_id for node_id, step in steps.items()}
                raise CanvasError(
                    [
                        {"text": p.text, "node": by_step.get(getattr(p.step, "pk", None))}
                        for p in found
                    ]
                )
    return flow.canvas_layout


def _step_pk(node_id):
    return int(node_id[len(STEP_PREFIX) :]) if node_id.startswith(STEP_PREFIX) else None


def _read(flow, payload):
    """``(nodes by id, ids in step order, {(id, "yes"|"no"): id})``, or ``CanvasError``.
    A plain step's one way is stored under "yes" (``Step.next_step``)."""
    problems = []

    def refuse(text, node=None):
        problems.append({"text": text, "node": node})

    if not isinstance(payload, dict):
        raise CanvasError([{"text": _("The canvas sent no graph."), "node": None}])
    existing = set(Step.objects.filter(flow=flow).values_list("pk", flat=True))
    channels = {value for value, _label in STEP_CHANNELS}
    nodes = {}
    for raw in payload.get("nodes") or []:
        node_id = str(raw.get("id", ""))
        name = str(raw.get("name") or "").strip()[:120]
        label = name or node_id
        if node_id.startswith(TRIGGER_PREFIX) or node_id == END:
            continue
        if node_id in nodes or not node_id:
            refuse(_("Two nodes have the same id “%(id)s”.") % {"id": node_id}, node_id)
            continue
        if _step_pk(node_id) is not None and _step_pk(node_id) not in existing:
            refuse(_("“%(node)s” is not a step of this flow.") % {"node": label}, node_id)
            continue
        kind = raw.get("kind")
        if kind not in StepKind.values:
            refuse(_("“%(node)s” has an unknown kind.") % {"node": label}, node_id)
            continue
        if not name:
            refuse(_("A node has no name: name every step."), node_id)
        try:
            delay, wait_until = parse_wait(str(raw.get("delay") or "0"))
        except DelayError as error:
            refuse(_("“%(node)s”, delay: %(error)s") % {"node": label, "error": error}, node_id)
            delay = wait_until = None
        channel = raw.get("channel") or STEP_CHANNELS[1][0]
        if channel not in channels:
            refuse(_("“%(node)s” has an unknown channel.") % {"node": label}, node_id)
        node = {"id": node_id, "kind": kind, "name": name, "channel": channel}
        node["delay"], node["wait_until"] = delay, wait_until
        node["x"], node["y"] = _number(raw.get("x")), _number(raw.get("y"))
        if "conditions" in raw:
            node["conditions"] = raw["conditions"]
        nodes[node_id] = node
    if problems:
        raise CanvasError(problems)
    if not nodes:
        raise CanvasError([{"text": _("Draw at least one step."), "node": None}])

    firsts, successors = set(), {}
    for edge in payload.get("edges") or []:
        source, target = str(edge.get("from", "")), str(edge.get("to", ""))
        if source.startswith(TRIGGER_PREFIX):
            if target in nodes:
                firsts.add(target)
            continue
        if source not in nodes or (target not in nodes and target != END):
            refuse(_("A connection joins nodes that are not on the canvas."), source or None)
            continue
        branch = "no" if edge.get("branch") == "no" else "yes"
        if nodes[source]["kind"] == StepKind.EXIT:
            refuse(
                _("“%(node)s” ends the path: nothing can follow it.") % _named(nodes, source),
                source,
            )
        elif (source, branch) in successors:
            refuse(_("“%(node)s” leads to two steps at once.") % _named(nodes, source), source)
        elif branch == "no" and nodes[source]["kind"] != StepKind.SPLIT:
            refuse(_("Only a split has a “no” path."), source)
        elif target != END:
            successors[source, branch] = target
        else:
            successors[source, branch] = None
    if len(firsts) != 1:
        refuse(_("Connect the trigger to exactly one first step."))
    for node_id, node in nodes.items():
        if node["kind"] == StepKind.SPLIT and not all(
            (node_id, branch) in successors for branch in ("yes", "no")
        ):
            refuse(
                _("“%(node)s” needs both a “yes” and a “no” path.") % _named(nodes, node_id),
                node_id,
            )
    if problems:
        raise CanvasError(problems)

    order = _order(nodes, successors, firsts.pop(), refuse)
    if problems:
        raise CanvasError(problems)
    for index, node_id in enumerate(order):
        ways = {branch: successors.get((node_id, branch)) for branch in ("yes", "no")}
        stops = nodes[node_id]["kind"] != StepKind.EXIT and not any(ways.values())
        if index == len(order) - 1:
            continue
        if stops:
            refuse(
                _("“%(node)s” ends its path: connect it to an end node or to a step.")
                % _named(nodes, node_id),
                node_id,
            )
        elif nodes[node_id]["kind"] == StepKind.SPLIT and None in ways.values():
            # A split's empty way means the next step in the order (``Step.no_next_step``):
            # drawn to "Flow completed" beside a way that goes on, it would lead there.
            way = next(branch for branch, target in ways.items() if target is None)
            refuse(
                _(
                    "“%(node)s”: its “%(way)s” path ends, but steps come after it: connect "
                    "it to an end node or to a step."
                )
                % {**_named(nodes, node_id), "way": pgettext("a split's path", way)},
                node_id,
            )
    if problems:
        raise CanvasError(problems)
    return nodes, order, {key: target for key, target in successors.items() if target}


def _order(nodes, successors, first, refuse):
    """The nodes in path order (each before the steps it leads to; the "yes" path before
    the "no" path); names a cycle or an unreachable node through ``refuse``."""
    state, finished = {}, []

    def visit(node_id):
        state[node_id] = "open"
        for branch in ("no", "yes"):  # reversed at the end: "yes" comes first
            target = successors.get((node_id, branch))
            if target is None:
                continue
            if state.get(target) == "open":
                refuse(
                    _("“%(node)s” leads back to a step before it: a flow cannot loop.")
                    % _named(nodes, node_id),
                    node_id,
                )
            elif target not in state:
                visit(target)
        state[node_id] = "done"
        finished.append(node_id)

    visit(first)
    for node_id in nodes:
        if node_id not in state:
            refuse(
                _("“%(node)s”: no path from the trigger leads to it.") % _named(nodes, node_id),
                node_id,
            )
    return finished[::-1]


def _named(nodes, node_id):
    return {"node": nodes[node_id]["name"]}


def _number(value):
    try:
        return round(float(value))
    except (TypeError, ValueError):
        return 0
