"""Seeing a flow before it runs: a step rendered for a contact, and a dry-run timeline.

A preview renders exactly what the dispatcher would (``render_content`` with
``render_context``: the plain context every message gets, around one shaped like
``engine.message_context``) with stand-ins for what only exists at send time: a sample
cart when the contact has none, placeholders for the discount code and the cart restore
link (both are made per recipient when the step is sent), and sample products when the
shop recommends none. Nothing here writes.

The stand-ins follow ``variables.step_tags``: a cart only in flows that have one, a
discount only on steps with an offer. A variable the step cannot fill is not rendered
blank, as it would look in a real message: the preview marks it in place (``Chunk``) and
names it with the reason, the same words validation uses to refuse activation.

The dry run replays the engine's decisions for a list of contacts: who would enter, and
for each step when it would go, on which channel, or why it would be skipped.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from ..channels import enabled_channels, get_backend
from ..channels.sms_segments import segments
from ..conf import omnichannel_settings
from ..core.links import absolute_url
from ..integrations.adapter import get_adapter
from ..models import CartSnapshot, Contact, Enrollment, Message, StepContent, Suppression
from ..models.channels import Channel
from ..models.consent import ConsentStatus, Purpose
from ..models.flows import BEST_CHANNEL, EnrollmentState, ExitGoal, StepKind, Trigger
from ..outbox import policy
from ..outbox.blocks import expand_blocks
from ..outbox.rendering import HTML_PARTS, language_of, missing_uses, render_content, render_context
from . import conditions, variables, variants
from .engine import (
    Batch,
    cart_lines_from_json,
    is_transactional,
    purpose_for,
    reentry_blocked,
    step_due,
)

logger = logging.getLogger(__name__)

# The parts each channel sends, in the order staff read them.
CHANNEL_PARTS = {
    Channel.EMAIL: ("subject", "preheader", "text", "html"),
    Channel.SMS: ("text",),
    Channel.WHATSAPP: ("content_sid", "variables", "text"),
    Channel.PUSH: ("title", "body", "url", "icon"),
    Channel.INBOX: ("title", "body", "url"),
}

SAMPLE_CART_LINES = [
    {"product_id": "sample-1", "name": "Linen shirt", "quantity": 1, "unit_price": "49.00",
     "sku": "SAMPLE-1", "url": "", "image_url": ""},
    {"product_id": "sample-2", "name": "Canvas tote", "quantity": 2, "unit_price": "15.00",
     "sku": "SAMPLE-2", "url": "", "image_url": ""},
]  # fmt: skip
SAMPLE_RECOMMENDATIONS = [
    {"name": "Wool scarf", "url": "", "price": "29.00", "image_url": ""},
    {"name": "Leather belt", "url": "", "price": "39.00", "image_url": ""},
]
DISCOUNT_PLACEHOLDER = "PREVIEW"
# What stands in the rendered preview for a variable without a value: its name between
# two private-use characters, which escaping and the text filters leave alone.
MARK = "\ue000{}\ue001"
MARKED = re.compile("\ue000(.*?)\ue001")


def sample_contact():
    """An unsaved contact for previews when staff pick nobody."""
    return Contact(
        first_name="Alex", last_name="Sample", email="alex.sample@example.com", phone="+14155550100"
    )


# --- rendering ---------------------------------------------------------------------------


@dataclass
class Chunk:
    """A run of a rendered part: plain text, or a variable that had no value."""

    text: str
    variable: str = ""  # "discount.code" where the text stands for a variable
    unprovided: bool = False  # the step cannot fill it (else: only this contact lacks it)


@dataclass
class Part:
    name: str
    value: object
    error: str = ""
    unprovided: list = field(default_factory=list)  # [variables.Unprovided, ...]

    @property
    def label(self):
        return StepContent._meta.get_field(self.name).verbose_name

    @property
    def blocking(self):
        return [u for u in self.unprovided if u.blocking]

    @property
    def chunks(self):
        """The rendered text in runs, a variable without a value as its own run."""
        cannot = {u.tag for u in self.blocking}
        pieces = MARKED.split(self.value if isinstance(self.value, str) else "")
        chunks = []
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                if piece:
                    chunks.append(Chunk(piece))
                continue
            tag = f"{{{{ {piece} }}}}"
            chunks.append(Chunk(tag, variable=piece, unprovided=tag in cannot))
        return chunks

    @property
    def html(self):
        """An HTML part for its sandboxed frame, each variable without a value marked."""
        cannot = {u.tag for u in self.blocking}

        def mark(match):
            tag = f"{{{{ {match.group(1)} }}}}"
            colour = "#fcc" if tag in cannot else "#eee"
            return f'<mark style="background:{colour}">{escape(tag)}</mark>'

        return MARKED.sub(mark, self.value)

    @property
    def shown_variables(self):
        """WhatsApp's template variables, a variable without a value as its tag."""
        return {key: unmark(value) for key, value in (self.value or {}).items()}


def unmark(value):
    """``value`` with each ``MARK`` back to the tag it stands for (a test send shows
    ``{{ contact.attributes.birth_year }}`` where the previewed contact has none)."""
    if isinstance(value, dict):
        return {key: unmark(item) for key, item in value.items()}
    if isinstance(value, str):
        return MARKED.sub(lambda match: f"{{{{ {match.group(1)} }}}}", value)
    return value


@dataclass
class ContentPreview:
    """One content of a step (a channel, a language) rendered for one contact."""

    content: object
    parts: list
    segments: int | None = None  # SMS only

    @property
    def errors(self):
        return [part for part in self.parts if part.error]


def template_context(step, contact, content, variant=None, now=None):
    """What the step's templates would see besides ``rendering.base_context``, shaped like
    ``engine.message_context``: only the groups ``variables.step_tags`` gives the step."""
    now = now or timezone.now()
    cart = _cart(contact)
    context = {
        "flow": {"name": step.flow.name, "slug": step.flow.slug},
        "step": {"name": step.name, "position": step.position + 1},
        "variant": variant.name if variant else "",
        "trigger": {
            tag.path[1]: tag.sample
            for tag in variables.TRIGGER_TAGS.get(step.flow.trigger, [])
            if len(tag.path) == 2
        },
    }
    if variables.provides_cart(step.flow):
        context["cart"] = cart
    if variables.provides_order(step.flow):
        context["order"] = _order(cart)
    if step.has_offer:
        value = variant.offer_value if variant and variant.offer_value else step.offer_value
        context["discount"] = {
            "code": step.offer_prefix + DISCOUNT_PLACEHOLDER,
            "kind": step.offer_kind,
            "value": str(value or ""),
            "expires_at": (now + step.offer_valid_for).isoformat(),
        }
    if "recommendations" in content.template_text():
        context["recommendations"] = _recommendations(contact, cart["lines"])
    return context


def _cart(contact):
    """The contact's latest cart, or the sample one. The restore link points at the shop:
    a real one would put this customer's cart in the browser of whoever clicks it."""
    snapshot = None
    if contact.pk:
        snapshot = CartSnapshot.objects.filter(contact=contact).order_by("-last_activity_at")
        snapshot = snapshot.first()
    if snapshot is None:
        lines = SAMPLE_CART_LINES
        value = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
        currency = omnichannel_settings.DEFAULT_CURRENCY
    else:
        lines, value, currency = list(snapshot.lines), snapshot.value, snapshot.currency
    return {
        "lines": lines,
        "item_count": sum(line.get("quantity", 0) for line in lines),
        "value": str(value),
        "currency": currency,
        "restore_url": absolute_url("/"),
    }


def _order(cart):
    """A stand-in order of the cart's lines, each linked to the shop for its review."""
    lines = [{**line, "review_url": absolute_url("/")} for line in cart["lines"]]
    return {
        "number": "1001",
        "total": cart["value"],
        "currency": cart["currency"],
        "status": "",
        "lines": lines,
    }


def _recommendations(contact, lines):
    try:
        products = get_adapter().get_recommendations(contact, cart_lines_from_json(lines), limit=3)
    except Exception:  # the shop's code must not break the admin page
        logger.warning("omnichannel: recommendations failed in a preview", exc_info=True)
        products = []
    found = [
        {"name": p.name, "url": p.url, "price": str(p.price or ""), "image_url": p.image_url}
        for p in products
    ]
    return found or SAMPLE_RECOMMENDATIONS


def render_parts(step, content, context):
    """The channel's parts of ``content`` rendered one by one, so that one broken
    template shows its error beside the parts that work, and a variable without a value
    shows where it stands (``MARK``) instead of the hole a real message would have."""
    try:
        stored = expand_blocks(content.as_message_content())
    except Exception as exc:  # mjml-python missing, or blocks stored broken by hand
        return [Part("html", "", error=str(exc) or type(exc).__name__)]
    cannot = variables.content_unprovided(step, content)
    _mark_holes(context, stored)
    parts = []
    for name in CHANNEL_PARTS[content.channel]:
        if name not in stored:
            continue
        unprovided = cannot.get(name, [])
        try:
            rendered = render_content({name: stored[name]}, context)[name]
        except Exception as exc:  # staff templates and their filters may raise anything
            parts.append(Part(name, "", error=str(exc) or type(exc).__name__))
        else:
            parts.append(Part(name, _unsafe(rendered), unprovided=unprovided))
    return parts


def _mark_holes(context, content):
    """Give each variable of ``content`` that ``context`` lacks its ``MARK``, in place;
    the deepest first, so that ``{{ a.b }}`` and ``{{ a.b.c }}`` both find theirs."""
    holes = sorted(set(_holes(context, content)), key=lambda use: len(use.path))
    for use in reversed(holes):
        node = context
        for part in use.path[:-1]:
            node = node.setdefault(part, {}) if isinstance(node, dict) else None
        if isinstance(node, dict) and use.path[-1] not in node:
            # A loop over nothing shows nothing; the variable is named beside the part.
            node[use.path[-1]] = [] if use.loop else MARK.format(use.name)


def _holes(context, content):
    for key, value in content.items():
        if isinstance(value, dict):
            yield from _holes(context, value)
        elif isinstance(value, str) and "{" in value:
            try:
                yield from missing_uses(value, key in HTML_PARTS, context)
            except Exception:  # a template that does not compile shows its error when rendered
                continue


def _unsafe(value):
    """A rendered template comes back marked safe, as HTML for the message it was made
    for. On an admin page it is data to show (an HTML part goes in an ``srcdoc``
    attribute): drop the mark so that it is escaped like anything else."""
    if isinstance(value, dict):
        return {key: _unsafe(item) for key, item in value.items()}
    return str.__str__(value) if isinstance(value, str) else value


def preview_content(step, content, contact, variant=None, now=None):
    probe = Message(
        contact=contact,
        channel=content.channel,
        content=content.as_message_content(),
        context=template_context(step, contact, content, variant=variant, now=now),
    )
    context = render_context(probe)
    # In the language the content is sent in: its own, or the recipient's for a default.
    with translation.override(language_of(content.locale or contact.locale)):
        parts = render_parts(step, content, context)
    sms_segments = None
    if content.channel == Channel.SMS:
        text = next((part for part in parts if part.name == "text"), None)
        sms_segments = segments(MARKED.sub("", text.value)) if text and not text.error else None
    return ContentPreview(content=content, parts=parts, segments=sms_segments)


def preview_step(step, contact, variant=None, now=None):
    """Every content of ``step`` for ``variant`` (None: the step's own), rendered."""
    order = {channel: index for index, channel in enumerate(Channel.values)}
    contents = sorted(
        step.contents.filter(variant=variant),
        key=lambda content: (order[content.channel], content.locale),
    )
    return [preview_content(step, content, contact, variant, now) for content in contents]


# --- dry run -----------------------------------------------------------------------------


@dataclass
class PlannedStep:
    step: object
    at: datetime
    channel: str = ""
    variant: str = ""
    done: bool = False  # an enrolled contact is past this step already
    skipped: str = ""  # why nothing goes, or ""
    held_until: datetime | None = None  # outside the recipient's send window until then


@dataclass
class ContactPlan:
    contact: object
    start: datetime
    excluded: str = ""  # why the flow gives this contact nothing, or ""
    steps: list = field(default_factory=list)


def dry_run(flow, contacts, *, now=None, from_signup=False):
    """What ``flow`` would do to each of ``contacts`` if triggered now (or at their
    signup, ``from_signup``), as the engine and dispatcher would decide it today.

    Timing follows the engine: each step's delay runs from the previous step's turn,
    whether that step sent or was skipped. Variants are drawn as at send time.
    """
    now = now or timezone.now()
    contacts = list(contacts)
    carts = _latest_carts(contacts) if Trigger.CART_ABANDONED in flow.triggers else {}
    enrollments = [
        Enrollment(
            flow=flow,
            contact=contact,
            cart=carts.get(contact.pk),
            triggered_at=(contact.signed_up_at or contact.created_at) if from_signup else now,
        )
        for contact in contacts
    ]
    return _plans(enrollments, blocked=reentry_blocked(flow, {c.pk for c in contacts}, now))


def dry_run_enrolled(enrollments):
    """The way ahead of contacts already in a flow, from their own trigger and with the
    variants they were given. Pass them with ``flow``, ``contact`` and ``cart`` loaded."""
    return _plans(list(enrollments), blocked=set())


def _plans(enrollments, blocked):
    batch = Batch(enrollments)
    reach = _Reach([enrollment.contact for enrollment in enrollments])
    return [_plan(enrollment, batch, reach, blocked) for enrollment in enrollments]


def _latest_carts(contacts):
    latest = {}
    for cart in CartSnapshot.objects.filter(contact__in=contacts).order_by("last_activity_at"):
        latest[cart.contact_id] = cart
    return latest


def _plan(enrollment, batch, reach, blocked):
    contact, flow, start = enrollment.contact, enrollment.flow, enrollment.triggered_at
    plan = ContactPlan(contact=contact, start=start)
    facts = batch.facts(enrollment)
    exit_at, goal = _exit(enrollment, batch)
    if enrollment.pk is None:
        plan.excluded = _entry_refusal(enrollment, facts, blocked, exit_at, goal)
    elif enrollment.state == EnrollmentState.HELD_OUT:
        plan.excluded = _("held out: receives nothing, to measure the flow's lift")
    elif enrollment.state == EnrollmentState.EXITED:
        plan.excluded = _("left the flow: %(reason)s") % {"reason": enrollment.exit_reason.lower()}
    if plan.excluded:
        return plan
    paths = batch.paths[flow.pk]
    waiting_for = enrollment.next_step_id if enrollment.state == EnrollmentState.ACTIVE else None
    # An enrolled contact is past every step before the one they wait for.
    done = enrollment.pk is not None
    walk = _walk(paths, paths.first, enrollment.contact, facts)
    if waiting_for is not None and waiting_for not in {step.pk for step in walk}:
        # A split sent them another way than today's facts would: the way ahead only.
        walk, done = _walk(paths, paths.get(waiting_for), enrollment.contact, facts), False
    at = start
    for step in walk:
        variant = variants.assign(enrollment, step, batch.variants[step.pk])
        at = step_due(step, variant, at, enrollment.contact)
        if step.pk == waiting_for:
            done = False
            if enrollment.next_step_at:
                at = enrollment.next_step_at  # the engine's own schedule (a cart clock restarts)
        if step.kind != StepKind.MESSAGE:
            continue
        planned = PlannedStep(step=step, at=at, variant=variant.name if variant else "")
        plan.steps.append(planned)
        if done:
            planned.done = True
        elif exit_at is not None and exit_at <= at:
            planned.skipped = _("left the flow: %(reason)s") % {"reason": goal}
        else:
            _decide(planned, enrollment, variant, batch, facts, reach)
    return plan


def _walk(paths, step, contact, facts):
    """The steps from ``step`` on along the contact's path (splits decided on ``facts``, as
    the engine would today), up to its end or until it loops back."""
    walked, seen = [], set()
    while step is not None and step.pk not in seen:
        walked.append(step)
        seen.add(step.pk)
        if step.kind == StepKind.SPLIT:
            step = paths.after(step, branch=not _unmet(step.conditions, contact, facts))
        else:
            step = paths.after(step)
    return walked


def _entry_refusal(enrollment, facts, blocked, exit_at, goal):
    """Why a new trigger would not enrol the contact (``engine.enroll_many``), or ''."""
    if enrollment.contact.pk in blocked:
        return _("already in this flow, or went through it")
    if unmet := _unmet(enrollment.flow.conditions, enrollment.contact, facts):
        return _("entry condition not met: %(conditions)s") % {"conditions": ", ".join(unmet)}
    if exit_at is not None and exit_at <= enrollment.triggered_at:
        return _("already reached an exit goal: %(goal)s") % {"goal": goal}
    return ""


def _exit(enrollment, batch):
    """When the contact leaves the flow for a goal they reached, and which; (None, '')."""
    goal = batch.goal(enrollment)
    if not goal:
        return None, ""
    at = enrollment.triggered_at
    if goal == ExitGoal.ORDERED:
        orders = [t for t in batch.known.purchases[enrollment.contact_id] if t >= at]
        at = min(orders, default=at)
    return at, ExitGoal(goal).label.lower()


def _unmet(entries, contact, facts):
    """Labels of the conditions ``contact`` does not meet (invalid ones count as unmet)."""
    unmet = []
    for entry in entries or ():
        name = entry.get("name") if isinstance(entry, dict) else entry
        try:
            met = conditions.met([entry], contact, facts)
        except (KeyError, TypeError, AttributeError, ValidationError) as exc:
            unmet.append(
                _("invalid condition %(name)s (%(error)s)") % {"name": repr(name), "error": exc}
            )
            continue
        if not met:
            unmet.append(str(conditions.get(name).label).lower())
    return unmet


def _decide(planned, enrollment, variant, batch, facts, reach):
    """Fill ``planned`` with its channel, or the reason nothing goes (mirrors
    ``engine.plan_for`` and the dispatcher's policy)."""
    step, contact, cart = planned.step, enrollment.contact, enrollment.cart
    if unmet := _unmet(step.conditions, contact, facts):
        planned.skipped = _("condition not met: %(conditions)s") % {"conditions": ", ".join(unmet)}
        return
    if step.min_cart_value is not None and (cart is None or cart.value < step.min_cart_value):
        planned.skipped = _("cart below %(value)s") % {"value": step.min_cart_value}
        return
    channel = (variant.channel if variant and variant.channel else "") or step.channel
    if channel == BEST_CHANNEL:
        candidates = batch.channels_with_content(step, variant)
        purpose = Purpose.TRANSACTIONAL if is_transactional(step, enrollment) else Purpose.MARKETING
        channel = policy.choose_channel(
            contact,
            candidates=candidates,
            purpose=purpose,
            cart_value=cart.value if cart else None,
        )
        if channel is None:
            planned.skipped = _("no channel reaches them (consent, address or content missing)")
            return
    planned.channel = channel
    if batch.content(step, variant, channel, contact.locale) is None:
        planned.skipped = _("no %(channel)s content") % {"channel": Channel(channel).label}
        return
    purpose = purpose_for(enrollment, step, channel, batch)
    if purpose == Purpose.TRANSACTIONAL and step.has_offer:
        planned.skipped = _("an offer is never sent without marketing consent")
        return
    planned.skipped = reach.refusal(contact, channel, purpose, batch)
    if not planned.skipped and purpose == Purpose.MARKETING:
        planned.held_until = policy.window_opening(contact, channel, planned.at)


class _Reach:
    """Whether a channel can reach a contact: backend, consent, address, suppression."""

    def __init__(self, contacts):
        addresses = [a for c in contacts for a in (c.email, c.phone, str(c.uuid)) if a]
        self.suppressed = set(
            Suppression.objects.filter(address__in=addresses).values_list("channel", "address")
        )

    def refusal(self, contact, channel, purpose, batch):
        label = Channel(channel).label
        if channel not in enabled_channels():
            return _("%(channel)s is not set up (no backend in CHANNEL_BACKENDS)") % {
                "channel": label
            }
        consent = batch.known.consents[contact.pk].get(channel)
        if purpose == Purpose.MARKETING and consent != ConsentStatus.GRANTED:
            return _("no marketing consent for %(channel)s") % {"channel": label}
        address = get_backend(channel).address(Message(contact=contact, channel=channel))
        if not address:
            return _("no %(channel)s address") % {"channel": label}
        if (channel, address) in self.suppressed:
            return _("%(channel)s address is suppressed") % {"channel": label}
        return ""
