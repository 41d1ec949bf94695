"""What is wrong with a flow, said so that a marketer knows what to fix.

The engine skips a step it cannot send and the dispatcher fails a message a provider
refuses; both happen silently, contact after contact. These checks find the same
problems in the admin, before anyone is enrolled: blocking problems refuse activation,
the others are shown as warnings.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from ..conf import omnichannel_settings
from ..models.channels import Channel
from ..models.flows import BEST_CHANNEL, OfferKind, Trigger
from . import conditions
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
        found.append(Problem("The flow has no steps: add at least one message."))
    if flow.trigger == Trigger.CUSTOM_EVENT and not flow.trigger_event:
        found.append(
            Problem(
                "The flow starts on a custom event but names none: enter the event name "
                "your shop passes to track_event()."
            )
        )
    found += [Problem(f"Entry conditions: {text}") for text in _condition_errors(flow.conditions)]
    contact = sample_contact()
    for step in steps:
        found += _step_problems(step, contact)
    return found


def blocking(flow):
    return [problem for problem in problems(flow) if problem.blocking]


def _condition_errors(entries):
    try:
        conditions.validate(entries)
    except ValidationError as exc:
        return exc.messages
    return []


def _step_problems(step, contact):
    name = f"Step {step.position + 1} “{step.name}”"
    found = [
        Problem(f"{name}, conditions: {text}", step) for text in _condition_errors(step.conditions)
    ]
    found += _offer_problems(step, name)
    contents = list(step.contents.all())
    for variant in list(step.variants.all()) or [None]:
        arm = f"{name}, variant “{variant.name}”" if variant else name
        own = [c for c in contents if c.variant_id == (variant.pk if variant else None)]
        found += _channel_problems(step, variant, own, arm)
        for content in own:
            found += _content_problems(step, variant, content, contact, arm)
    return found


def _offer_problems(step, name):
    if step.offer_kind not in (OfferKind.PERCENT, OfferKind.FIXED):
        return []
    values = [step.offer_value] + [v.offer_value for v in step.variants.all()]
    if not step.offer_value and not any(values[1:]):
        kind = OfferKind(step.offer_kind).label.lower()
        return [
            Problem(
                f"{name} offers {kind} but no value: enter the offer value "
                "(only free shipping needs none).",
                step,
            )
        ]
    if step.offer_kind == OfferKind.PERCENT and any(v and v > 100 for v in values):
        return [Problem(f"{name} offers more than 100 % off.", step)]
    return []


def _channel_problems(step, variant, contents, arm):
    channel = (variant.channel if variant and variant.channel else "") or step.channel
    if channel == BEST_CHANNEL:
        if contents:
            return []
        return [
            Problem(
                f"{arm} goes on the best available channel but has no content: "
                "add content for at least one channel.",
                step,
            )
        ]
    label = Channel(channel).label
    found = []
    if not any(content.channel == channel for content in contents):
        found.append(Problem(f"{arm} sends by {label} but has no {label} content.", step))
    for other in sorted({c.channel for c in contents} - {channel}):
        found.append(
            Problem(
                f"{arm} has {Channel(other).label} content but sends by {label}: "
                "that content is never sent.",
                step,
                blocking=False,
            )
        )
    return found


# What each channel cannot go without, and what to tell staff when it is missing.
REQUIRED_PARTS = {
    Channel.EMAIL: [(("subject",), "has no subject"), (("text", "html"), "has no text or HTML")],
    Channel.SMS: [(("text",), "has no text")],
    Channel.WHATSAPP: [
        (
            ("content_sid",),
            "has no template SID: WhatsApp messages that open a conversation must use a "
            "template approved by Meta (its Twilio Content SID, HX...)",
        )
    ],
    Channel.PUSH: [(("title",), "has no title")],
    Channel.INBOX: [(("title", "body"), "has no title or body")],
}


def _content_problems(step, variant, content, contact, arm):
    where = f"{arm}, {content.get_channel_display()}"
    if content.locale:
        where += f" ({content.locale})"
    found = [
        Problem(f"{where} {text}.", step)
        for names, text in REQUIRED_PARTS[content.channel]
        if not any(getattr(content, name) for name in names)
    ]
    preview = preview_content(step, content, contact, variant)
    found += [
        Problem(f"{where}, {part.label}: the template does not render: {part.error}", step)
        for part in preview.errors
    ]
    budget = omnichannel_settings.SMS_SEGMENT_BUDGET
    if preview.segments and preview.segments > budget:
        found.append(
            Problem(
                f"{where}: the text takes {preview.segments} SMS segments, over the budget "
                f"of {budget} (each segment is billed): shorten it, or raise "
                "OMNICHANNEL['SMS_SEGMENT_BUDGET'].",
                step,
            )
        )
    return found
