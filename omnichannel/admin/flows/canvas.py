"""What the flow canvas (static/omnichannel/admin/flow_canvas.js) needs from the server:
its URLs, the channels a message may use, and the words it writes, translated here so that
the script holds no English of its own. The page passes it through ``json_script``."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ...models.flows import STEP_CHANNELS, StepKind

#: The words the script writes into the page, by the key it uses.
WORDS = {
    "kinds": {
        "trigger": _("Trigger"),
        **dict(StepKind.choices),
        "end": _("Flow completed"),
        "goal": _("Goal"),
    },
    # Keyed as flows.graph names the figures of a node.
    "figures": {
        "entered": pgettext_lazy("canvas figure", "entered"),
        "held_out": pgettext_lazy("canvas figure", "held out"),
        "waiting": pgettext_lazy("canvas figure", "waiting"),
        "sent": pgettext_lazy("canvas figure", "sent"),
        "clicked": pgettext_lazy("canvas figure", "clicked"),
        "converted": pgettext_lazy("canvas figure", "converted"),
        "revenue": pgettext_lazy("canvas figure", "revenue"),
        "completed": pgettext_lazy("canvas figure", "completed"),
        "exited": pgettext_lazy("canvas figure", "exited"),
    },
    "new": {
        StepKind.MESSAGE: _("New message"),
        StepKind.SPLIT: _("New split"),
        StepKind.EXIT: _("End"),
    },
    "edit": {
        StepKind.MESSAGE: _("Edit content"),
        StepKind.SPLIT: _("Edit conditions"),
        StepKind.EXIT: _("Open the step"),
    },
    "yes": pgettext_lazy("a split's path", "yes"),
    "no": pgettext_lazy("a split's path", "no"),
    "noConnection": _("(not connected)"),
    "saving": _("Saving…"),
    "saved": _(
        "Saved. Reload the page before saving the form above: its list of steps is from "
        "before the change."
    ),
    "refused": _("Not saved: change what is named below, then save again."),
    "failed": _("The canvas could not reach the server. Try again."),
    "loadFailed": _("The figures could not be loaded for this period."),
    "chooseNode": _("Select a node (click it, or Tab to it and press Enter) to edit it."),
    "fixedNode": _("Change what starts the flow, and its goals, in the form above."),
}


def canvas_config(flow, *, editable):
    """The JSON the canvas reads when the flow's page opens; ``editable``: whether the
    user may change the flow (else the canvas only shows it)."""
    return {
        "editable": editable,
        "graphUrl": reverse("admin:omnichannel_flow_graph", args=[flow.pk]),
        "saveUrl": reverse("admin:omnichannel_flow_canvas", args=[flow.pk]),
        # The admin's URL takes any object id: the script puts the step's in its place.
        "stepUrl": reverse("admin:omnichannel_step_change", args=["__pk__"]),
        "channels": STEP_CHANNELS,
        "words": WORDS,
    }
