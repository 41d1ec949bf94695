"""What is wrong with a flow, said so that a marketer knows what to fix.

The engine skips a step it cannot send and the dispatcher fails a message a provider
refuses; both happen silently, contact after contact. These checks find the same
problems in the admin, before anyone is enrolled: blocking problems refuse activation,
the others are shown as warnings.

A variable is checked against what its step provides (``variables.step_tags``): one the
step cannot fill would be sent as a hole ("your code  is waiting"), so it blocks.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..conf import omnichannel_settings
from ..models.channels import Channel
from ..models.flows import BEST_CHANNEL, ORDER_TRIGGERS, FlowKind, OfferKind, StepKind, Trigger
from . import conditions
from .paths import Paths
from .preview import preview_content, sample_contact


@dataclass(frozen=True)
class Problem:
    text: str
    step: object = None
    blocking: bool = True


def problems(flow):
    """Every problem of ``flow``, the flow's own first, then step by step."""
    found = []
    steps = list(flow.steps.prefetch_related("variants", "contents"))
    if not steps:
        found.append(Problem(_("The flow has no steps: add at least one message.")))
    if Trigger.CUSTOM_EVENT in flow.triggers and not flow.trigger_event:
        found.append(
            Problem(
                _(
                    "The flow starts on a custom event but names none: enter the event name "
                    "your shop passes to track_event()."
                )
            )
        )
    found += [
        Problem(_("Entry conditions: %(problem)s") % {"problem": text})
        for text in _condition_errors(flow.conditions)
    ]
    found += _path_problems(flow, steps)
    contact = sample_contact()
    for step in steps:
        if step.kind == StepKind.MESSAGE:
            found += _step_problems(step, contact)
        elif step.kind == StepKind.SPLIT:
            found += _split_problems(step)
    return found


def blocking(flow):
    return [problem for problem in problems(flow) if problem.blocking]


def _condition_errors(entries):
    try:
        conditions.validate(entries)
    except ValidationError as exc:
        return exc.messages
    return []


def _name(step):
    return _("Step %(number)s “%(name)s”") % {"number": step.position + 1, "name": step.name}


def _path_problems(flow, steps):
    """Links to another flow's steps, loops that never wait, steps no path reaches."""
    found = []
    paths = Paths(steps)
    for step in steps:
        for target in (step.next_step_id, step.no_next_step_id):
            if target is not None and target not in paths.by_id:
                found.append(
                    Problem(
                        _("%(step)s leads to a step of another flow: choose one of this flow.")
                        % {"step": _name(step)},
                        step,
                    )
                )
    loop = _loop_without_delay(paths)
    if loop:
        found.append(
            Problem(
                _(
                    "%(steps)s lead back to each other without a delay: a contact would go "
                    "round at once, again and again. Give one of them a delay, or break the "
                    "loop."
                )
                % {"steps": ", ".join(_name(step) for step in loop)},
                loop[0],
            )
        )
    reached, ahead = set(), [paths.first] if paths.first else []
    while ahead:
        step = ahead.pop()
        if step is not None and step.pk not in reached:
            reached.add(step.pk)
            ahead += [following for _branch, following in paths.successors(step)]
    found += [
        Problem(
            _("%(step)s: no path leads to it, so nobody gets it.") % {"step": _name(step)},
            step,
            blocking=False,
        )
        for step in steps
        if step.pk not in reached
    ]
    return found


def _loop_without_delay(paths):
    """The steps of a loop whose every step is due at once (no delay on the step or any of
    its variants, no time of day to wait for), in path order; [] when there is none."""

    def instant(step):
        delays = [step.delay] + [v.delay for v in step.variants.all() if v.delay is not None]
        return not any(delays) and step.wait_until is None

    state = {}  # step pk -> "open" while on the current path, "done" once explored

    def visit(step, trail):
        state[step.pk] = "open"
        for _branch, following in paths.successors(step):
            if following is None or not instant(following):
                continue
            if state.get(following.pk) == "open":
                return trail[trail.index(following) :]
            if following.pk not in state and (loop := visit(following, [*trail, following])):
                return loop
        state[step.pk] = "done"
        return []

    for step in paths.steps:
        if step.pk not in state and instant(step) and (loop := visit(step, [step])):
            return loop
    return []


def _split_problems(step):
    if not step.conditions:
        return [
            Problem(
                _(
                    "%(step)s splits the path but has no condition: choose who goes the "
                    "“then” way; the others go the “otherwise” way."
                )
                % {"step": _name(step)},
                step,
            )
        ]
    return [
        Problem(
            _("%(step)s, conditions: %(problem)s") % {"step": _name(step), "problem": text}, step
        )
        for text in _condition_errors(step.conditions)
    ]


def _step_problems(step, contact):
    name = _name(step)
    found = [
        Problem(_("%(step)s, conditions: %(problem)s") % {"step": name, "problem": text}, step)
        for text in _condition_errors(step.conditions)
    ]
    found += _offer_problems(step, name)
    contents = list(step.contents.all())
    found += _transactional_problems(step, contents, name)
    for variant in list(step.variants.all()) or [None]:
        arm = (
            _("%(step)s, variant “%(variant)s”") % {"step": name, "variant": variant.name}
            if variant
            else name
        )
        own = [c for c in contents if c.variant_id == (variant.pk if variant else None)]
        found += _channel_problems(step, variant, own, arm)
        for content in own:
            found += _content_problems(step, variant, content, contact, arm)
    return found


def _offer_problems(step, name):
    if (
        step.has_offer
        and step.flow.kind == FlowKind.CART_RECOVERY
        and omnichannel_settings.CART_RECOVERY_TRANSACTIONAL
    ):
        found = [
            Problem(
                _(
                    "%(step)s carries an offer, and a discount is marketing: in transactional "
                    "cart recovery (CART_RECOVERY_TRANSACTIONAL) contacts without marketing "
                    "consent skip it and get the next step without an offer."
                )
                % {"step": name},
                step,
                blocking=False,
            )
        ]
    else:
        found = []
    return found + _offer_value_problems(step, name)


def _transactional_problems(step, contents, name):
    """A transactional step goes without marketing consent: the law allows that for what
    belongs to the purchase (a thank-you, an order note), never for a promotion."""
    if not step.transactional:
        return []
    if step.flow.trigger not in ORDER_TRIGGERS:
        why = _("only a flow started by an order can send one")
    elif step.has_offer:
        why = _("a discount is marketing: remove the offer")
    elif any("recommendations" in c.template_text() for c in contents):  # blocks too
        why = _("recommended products are marketing: take them out of its content")
    else:
        return []
    return [
        Problem(
            _("%(step)s is marked transactional, but %(why)s.") % {"step": name, "why": why},
            step,
        )
    ]


def _offer_value_problems(step, name):
    if step.offer_kind not in (OfferKind.PERCENT, OfferKind.FIXED):
        return []
    values = [step.offer_value] + [v.offer_value for v in step.variants.all()]
    if not step.offer_value and not any(values[1:]):
        kind = OfferKind(step.offer_kind).label.lower()
        return [
            Problem(
                _(
                    "%(step)s offers %(kind)s but no value: enter the offer value "
                    "(only free shipping needs none)."
                )
                % {"step": name, "kind": kind},
                step,
            )
        ]
    if step.offer_kind == OfferKind.PERCENT and any(v and v > 100 for v in values):
        return [Problem(_("%(step)s offers more than 100 %% off.") % {"step": name}, step)]
    return []


def _channel_problems(step, variant, contents, arm):
    channel = (variant.channel if variant and variant.channel else "") or step.channel
    if channel == BEST_CHANNEL:
        if contents:
            return []
        return [
            Problem(
                _(
                    "%(step)s goes on the best available channel but has no content: "
                    "add content for at least one channel."
                )
                % {"step": arm},
                step,
            )
        ]
    label = Channel(channel).label
    found = []
    if not any(content.channel == channel for content in contents):
        found.append(
            Problem(
                _("%(step)s sends by %(channel)s but has no %(channel)s content.")
                % {"step": arm, "channel": label},
                step,
            )
        )
    for other in sorted({c.channel for c in contents} - {channel}):
        found.append(
            Problem(
                _(
                    "%(step)s has %(other)s content but sends by %(channel)s: "
                    "that content is never sent."
                )
                % {"step": arm, "other": Channel(other).label, "channel": label},
                step,
                blocking=False,
            )
        )
    return found


# What each channel cannot go without, and what to tell staff when it is missing
# (%(content)s: which content, e.g. "Step 1 “Welcome”, Email (fr)").
REQUIRED_PARTS = {
    Channel.EMAIL: [
        (("subject",), gettext_lazy("%(content)s has no subject.")),
        (("text", "html", "blocks"), gettext_lazy("%(content)s has no text or HTML.")),
    ],
    Channel.SMS: [(("text",), gettext_lazy("%(content)s has no text."))],
    Channel.WHATSAPP: [
        (
            ("content_sid",),
            gettext_lazy(
                "%(content)s has no template SID: WhatsApp messages that open a conversation "
                "must use a template approved by Meta (its Twilio Content SID, HX...)."
            ),
        )
    ],
    Channel.PUSH: [(("title",), gettext_lazy("%(content)s has no title."))],
    Channel.INBOX: [(("title", "body"), gettext_lazy("%(content)s has no title or body."))],
}


def _content_problems(step, variant, content, contact, arm):
    where = f"{arm}, {content.get_channel_display()}"
    if content.locale:
        where += f" ({content.locale})"
    found = [
        Problem(text % {"content": where}, step)
        for names, text in REQUIRED_PARTS[content.channel]
        if not any(getattr(content, name) for name in names)
    ]
    preview = preview_content(step, content, contact, variant)
    found += [
        Problem(
            _("%(content)s, %(part)s: the template does not render: %(error)s")
            % {"content": where, "part": part.label, "error": part.error},
            step,
        )
        for part in preview.errors
    ]
    found += [
        Problem(
            _("%(content)s, %(part)s: it uses %(tag)s, but %(reason)s.")
            % {"content": where, "part": part.label, "tag": missing.tag, "reason": missing.reason},
            step,
            blocking=missing.blocking,
        )
        for part in preview.parts
        for missing in part.unprovided
    ]
    budget = omnichannel_settings.SMS_SEGMENT_BUDGET
    if preview.segments and preview.segments > budget:
        found.append(
            Problem(
                ngettext(
                    "%(content)s: the text takes %(segments)s SMS segment, over the budget "
                    "of %(budget)s (each segment is billed): shorten it, or raise "
                    "OMNICHANNEL['SMS_SEGMENT_BUDGET'].",
                    "%(content)s: the text takes %(segments)s SMS segments, over the budget "
                    "of %(budget)s (each segment is billed): shorten it, or raise "
                    "OMNICHANNEL['SMS_SEGMENT_BUDGET'].",
                    preview.segments,
                )
                % {"content": where, "segments": preview.segments, "budget": budget},
                step,
            )
        )
    return found
