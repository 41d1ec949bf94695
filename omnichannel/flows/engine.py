"""Enrolling contacts in flows, advancing them step by step, and taking them out.

The sweeper never sends: for each due enrollment it re-checks the exit goals, picks the
step's variant, channel and content, makes the offer code, and queues one outbox message
whose idempotency key is (enrollment, step), so advancing twice queues once. A split step
sends nothing: it picks the contact's way (``paths``). The dispatcher then applies
consent, windows and caps, and re-checks the goals at send time.
"""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cached_property

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, prefetch_related_objects
from django.utils import timezone

from ..carts.carts import FINAL_STATUSES as FINAL_CART_STATUSES
from ..carts.carts import idle_time
from ..conf import omnichannel_settings
from ..core import claims
from ..core.batches import Report, run_batches
from ..core.db import insert_rows, update_rows
from ..core.links import restore_url
from ..core.local_time import next_local_time
from ..integrations.adapter import get_adapter
from ..models import (
    CartSnapshot,
    Consent,
    Contact,
    Enrollment,
    Flow,
    Message,
    StepContent,
    StepVisit,
    TrackedOrder,
)
from ..models.consent import ConsentStatus, Purpose
from ..models.flows import (
    BEST_CHANNEL,
    ORDER_TRIGGERS,
    EnrollmentState,
    ExitGoal,
    FlowKind,
    FlowStatus,
    StepKind,
    Trigger,
)
from ..outbox import policy
from ..outbox.dispatch import worker_id
from ..outbox.queueing import cancel_pending, wake_dispatcher
from ..outbox.status import STOPPABLE
from . import conditions, offers, variants
from .paths import Paths

logger = logging.getLogger(__name__)


# --- what is known about contacts --------------------------------------------------------


class ContactFacts:
    """Purchases and marketing consents of many contacts, each read in one query when
    first asked for: a flow that neither checks conditions nor exits on an unsubscription
    (a cart recovery, usually) never reads the consents."""

    def __init__(self, contact_ids):
        self.contact_ids = contact_ids
        self._carting = None  # read on the first flow that exits on a cart

    @cached_property
    def purchases(self):
        purchases = defaultdict(list)
        for contact_id, placed_at in TrackedOrder.objects.filter(
            contact_id__in=self.contact_ids, is_purchase=True
        ).values_list("contact_id", "placed_at"):
            purchases[contact_id].append(placed_at)
        return purchases

    @cached_property
    def consents(self):
        consents = defaultdict(dict)
        for contact_id, channel, status in Consent.objects.filter(
            contact_id__in=self.contact_ids, purpose=Purpose.MARKETING
        ).values_list("contact_id", "channel", "status"):
            consents[contact_id][channel] = status
        return consents

    def for_condition(self, contact_id, cart):
        return conditions.Facts(
            cart_value=cart.value if cart is not None else None,
            purchases=len(self.purchases[contact_id]),
            consents=self.consents[contact_id],
        )

    def goal(self, flow, contact_id, cart, since):
        """The first exit goal of ``flow`` the contact has reached since ``since``, or ''."""
        goals = set(flow.exit_goals)
        if ExitGoal.ORDERED in goals:
            ordered = any(t >= since for t in self.purchases[contact_id])
            if ordered or (cart is not None and cart.status in FINAL_CART_STATUSES):
                return ExitGoal.ORDERED
        if (
            ExitGoal.UNSUBSCRIBED in goals
            and ConsentStatus.GRANTED not in self.consents[contact_id].values()
        ):
            return ExitGoal.UNSUBSCRIBED
        if ExitGoal.CART_EMPTIED in goals and cart is not None and not cart.item_count:
            return ExitGoal.CART_EMPTIED
        if ExitGoal.ADDED_TO_CART in goals and self.carted(contact_id, since):
            return ExitGoal.ADDED_TO_CART
        return ""

    def carted(self, contact_id, since):
        """Whether the contact touched a cart since ``since``, or is in a cart recovery."""
        if self._carting is None:
            self._carting = cart_activity(self.contact_ids)
        recovering, last_activity = self._carting
        at = last_activity.get(contact_id)
        return contact_id in recovering or (at is not None and at >= since)


def cart_activity(contact_ids):
    """``(contacts in an active cart recovery, contact pk -> their carts' last activity)``,
    in two queries."""
    recovering = set(
        Enrollment.objects.filter(
            contact_id__in=contact_ids,
            state=EnrollmentState.ACTIVE,
            flow__kind=FlowKind.CART_RECOVERY,
        ).values_list("contact_id", flat=True)
    )
    last_activity = dict(
        CartSnapshot.objects.filter(contact_id__in=contact_ids)
        .values("contact_id")
        .annotate(last=Max("last_activity_at"))
        .values_list("contact_id", "last")
    )
    return recovering, last_activity


def carting_contacts(contact_ids, since):
    """The contacts of ``since`` (pk -> moment) who touched a cart from that moment on, or
    are in a cart recovery: browsing that led to a cart is the cart's business."""
    recovering, last_activity = cart_activity(contact_ids)
    return recovering | {
        contact_id for contact_id, at in last_activity.items() if at >= since[contact_id]
    }


# --- entering ----------------------------------------------------------------------------


@dataclass
class Entry:
    """Someone a trigger wants in a flow.

    A sweep that knows only the contact's pk gives ``contact_id`` and no ``contact``:
    ``enroll_many`` loads contacts only for a flow whose entry conditions read them.
    ``trigger`` names which of the flow's triggers fired (empty: its main one).
    """

    contact: object
    trigger_key: str
    triggered_at: object
    cart: object = None
    context: dict = field(default_factory=dict)
    contact_id: int = None
    trigger: str = ""

    def __post_init__(self):
        if self.contact_id is None:
            self.contact_id = self.contact.pk


def enroll(flow, contact, *, trigger_key, triggered_at=None, cart=None, context=None, trigger=""):
    """Put ``contact`` in ``flow``; returns the enrollment, or None when they may not enter."""
    entry = Entry(
        contact, trigger_key, triggered_at or timezone.now(), cart, context or {}, trigger=trigger
    )
    created = enroll_many(flow, [entry])
    return (
        Enrollment.objects.select_related("flow", "contact", "cart")
        .filter(uuid__in=created)
        .first()
    )


def enroll_many(flow, entries):
    """Enrol ``entries`` in ``flow`` with a constant number of queries.

    Returns the UUIDs of the enrollments created (a trigger key seen before creates none).

    Refused: a flow not active, a trigger older than the flow's activation (switching a
    flow on never messages the past), a contact inside the re-entry cooldown, unmet entry
    conditions, or an exit goal already reached. The same ``trigger_key`` enrols once; a
    flow with several triggers takes a contact once, whichever fires first, by the
    re-entry rule (``reentry_blocked``). The rows are written as plain values
    (``insert_rows``): a sweep enrols thousands.
    """
    if flow.status != FlowStatus.ACTIVE or not flow.activated_at:
        return []
    now = timezone.now()
    entries = [e for e in entries if e.triggered_at >= flow.activated_at]
    contact_ids = {e.contact_id for e in entries}
    blocked = reentry_blocked(flow, contact_ids, now)
    facts = ContactFacts(contact_ids)
    first = Paths(flow.steps.all()).first
    waits = first is not None and first.wait_until is not None
    contacts = entry_contacts(entries) if flow.conditions or waits else {}
    first_variants = list(first.variants.all()) if first else []
    rows, seen = [], set()
    for entry in entries:
        contact_id = entry.contact_id
        if contact_id in blocked or contact_id in seen:
            continue
        if flow.conditions and not conditions.met(
            flow.conditions, contacts[contact_id], facts.for_condition(contact_id, entry.cart)
        ):
            continue
        if facts.goal(flow, contact_id, entry.cart, since=entry.triggered_at):
            continue
        seen.add(contact_id)
        rows.append(enrollment_row(flow, entry, first, first_variants, contacts.get(contact_id)))
    return insert_rows(
        Enrollment,
        ENROLLMENT_ROW,
        rows,
        common={"flow": flow.pk, "enrolled_at": now},
        returning="uuid",
    )


def entry_contacts(entries):
    """pk -> contact for the entries (for entry conditions, or a first step's local time)."""
    given = {e.contact_id: e.contact for e in entries if e.contact is not None}
    missing = {e.contact_id for e in entries} - given.keys()
    return {**Contact.objects.in_bulk(missing), **given} if missing else given


# The columns of a new enrollment that differ from one entry to the next.
ENROLLMENT_ROW = (
    "uuid", "contact", "cart", "trigger_key", "trigger", "triggered_at", "context", "state",
    "ended_at", "next_step", "next_step_at", "variants",
)  # fmt: skip


def enrollment_row(flow, entry, first, first_variants, contact):
    """The ``ENROLLMENT_ROW`` values of a new enrollment: held out, or due at the first
    step (``contact`` is needed only when that step waits for a local time)."""
    state, ended_at, next_step, next_step_at, chosen = EnrollmentState.ACTIVE, None, None, None, {}
    if variants.in_holdout(flow):
        state, ended_at = EnrollmentState.HELD_OUT, entry.triggered_at
    elif first is not None:
        variant = None
        if first_variants:
            sticky = Enrollment(variants={})  # where ``assign`` records the choice
            variant = variants.assign(sticky, first, first_variants)
            chosen = sticky.variants
        next_step = first.pk
        next_step_at = step_due(first, variant, entry.triggered_at, contact)
    cart_id = entry.cart.pk if entry.cart is not None else None
    return (
        uuid.uuid4(), entry.contact_id, cart_id, entry.trigger_key[:200],
        entry.trigger or flow.trigger, entry.triggered_at, entry.context, state, ended_at,
        next_step, next_step_at, chosen,
    )  # fmt: skip


def reentry_blocked(flow, contact_ids, now):
    """The contacts of ``contact_ids`` that may not enter ``flow`` again yet.

    A cart recovery is per cart and a win-back per lapse (their trigger keys name the cart
    or the order lapsed after): a contact may be in it again for another, one at a time. A
    post-purchase flow is per order, any number at a time. Other flows: once, or after the
    cooldown.
    """
    if flow.kind == FlowKind.POST_PURCHASE and flow.reentry_cooldown is None:
        return set()
    previous = Enrollment.objects.filter(flow=flow, contact_id__in=contact_ids)
    if flow.kind in ONE_EVENT_AT_A_TIME and flow.reentry_cooldown is None:
        previous = previous.filter(state=EnrollmentState.ACTIVE)
    elif flow.reentry_cooldown is not None:
        previous = previous.filter(
            Q(state=EnrollmentState.ACTIVE) | Q(enrolled_at__gt=now - flow.reentry_cooldown)
        )
    return set(previous.values_list("contact_id", flat=True))


ONE_EVENT_AT_A_TIME = (FlowKind.CART_RECOVERY, FlowKind.WIN_BACK)


def step_delay(step, variant):
    return variant.delay if variant is not None and variant.delay is not None else step.delay


def step_due(step, variant, start, contact):
    """When ``step`` is due for ``contact`` if its clock starts at ``start``: after its
    delay (the variant's, if it has one), then at its ``wait_until`` time in the
    contact's zone. Python on values already loaded: no query per contact."""
    due = start + step_delay(step, variant)
    if step.wait_until is None:
        return due
    return next_local_time(due, step.wait_until, contact.get_time_zone())


def triggered_flows(trigger_name):
    """The active flows ``trigger_name`` starts, as their main trigger or as one of
    ``also_triggered_by``: the one place a trigger finds its flows.

    An extra trigger is found as a quoted name in the stored JSON list: a JSON list has no
    "contains" lookup on SQLite, and the list holds validated names (no quotes inside).
    """
    return Flow.objects.filter(
        Q(trigger=trigger_name) | Q(also_triggered_by__icontains=f'"{trigger_name}"'),
        status=FlowStatus.ACTIVE,
    )


def enroll_triggered(trigger_name, entries):
    """Enrol ``entries`` in every active flow ``trigger_name`` starts, each with a constant
    number of queries (``enroll_many``); returns how many enrollments were created."""
    # A copy only of an entry naming another trigger: ``replace`` copies every field, some
    # 7 % of a cart detection batch's Python time when done for every entry.
    entries = [
        entry if entry.trigger == trigger_name else replace(entry, trigger=trigger_name)
        for entry in entries
    ]
    flows = triggered_flows(trigger_name).prefetch_related("steps__variants")
    return sum(len(enroll_many(flow, entries)) for flow in flows)


def trigger(trigger_name, contact, *, key, triggered_at=None, cart=None, event="", context=None):
    """Enrol ``contact`` in every active flow started by ``trigger_name``; returns them."""
    flows = triggered_flows(trigger_name)
    if event:
        flows = flows.filter(trigger_event=event)
    enrolled = []
    for flow in flows.prefetch_related("steps"):
        enrollment = enroll(
            flow,
            contact,
            trigger_key=key,
            triggered_at=triggered_at,
            cart=cart,
            context=context,
            trigger=trigger_name,
        )
        if enrollment is not None:
            enrolled.append(enrollment)
    return enrolled


# --- leaving -----------------------------------------------------------------------------


def exit_enrollments(enrollments, reason):
    """End ``enrollments`` and cancel the messages they still have waiting.

    An enrollment is marked completed as soon as its last message is queued, so a
    completed one may still have that message waiting: it is cancelled too, and the
    enrollment ends as exited, since its last step never reached the contact.
    """
    ids = [e.pk for e in enrollments if e.state in STILL_SENDING]
    if not ids:
        return 0
    now = timezone.now()
    with transaction.atomic():
        unfinished = unfinished_enrollments().filter(pk__in=ids)
        exited = Enrollment.objects.filter(pk__in=list(unfinished.values_list("pk", flat=True)))
        exited = exited.update(
            state=EnrollmentState.EXITED, exit_reason=reason, ended_at=now, next_step_at=None
        )
        cancel_pending(extra=Q(enrollment_id__in=ids), reason=f"left the flow: {reason}")
    return exited


# An enrollment in one of these states may still have a message on its way.
STILL_SENDING = (EnrollmentState.ACTIVE, EnrollmentState.COMPLETED)


def unfinished_enrollments():
    """Active enrollments, and completed ones whose last message has not left yet."""
    pending = Message.objects.filter(
        enrollment_id=OuterRef("pk"), status__in=STOPPABLE, handed_at__isnull=True
    )
    return Enrollment.objects.annotate(pending=Exists(pending)).filter(
        Q(state=EnrollmentState.ACTIVE) | Q(state=EnrollmentState.COMPLETED, pending=True)
    )


def exit_for_goal(contact, goal, *, cart=None):
    """A contact reached ``goal`` (ordered, unsubscribed, emptied the cart): exit flows.

    This reaches every message of the contact's flows that has not left yet, including the
    last message of an enrollment that has already completed.
    """
    reachable = unfinished_enrollments().filter(contact=contact)
    if cart is not None and goal == ExitGoal.CART_EMPTIED:
        reachable = reachable.filter(cart=cart)
    leaving = [e for e in reachable.select_related("flow") if goal in e.flow.exit_goals]
    return exit_enrollments(leaving, ExitGoal(goal).label)


# --- advancing ---------------------------------------------------------------------------


@dataclass
class AdvanceReport(Report):
    claimed: int = 0
    queued: int = 0
    skipped: int = 0
    exited: int = 0
    completed: int = 0
    postponed: int = 0


def lease_seconds():
    return omnichannel_settings.FLOW_LEASE_SECONDS


def claim(owner, limit, now):
    due = Enrollment.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        state=EnrollmentState.ACTIVE,
        next_step_at__lte=now,
        flow__status=FlowStatus.ACTIVE,
    )
    return claims.claim(
        due,
        limit=limit,
        order_by=("next_step_at",),
        mark={"locked_until": now + timedelta(seconds=lease_seconds()), "locked_by": owner},
    )


class Batch:
    """What advancing a batch needs, read once: steps, contents, variants, facts."""

    def __init__(self, enrollments):
        from ..models import Step, StepVariant

        self.enrollments = enrollments
        flow_ids = {e.flow_id for e in enrollments}
        steps = defaultdict(list)
        self.variants = defaultdict(list)
        self.contents = defaultdict(dict)  # step_id -> {(variant_id, channel, locale): content}
        for step in Step.objects.filter(flow_id__in=flow_ids).order_by("position", "id"):
            steps[step.flow_id].append(step)
        self.paths = {flow_id: Paths(steps[flow_id]) for flow_id in flow_ids}
        step_ids = [s.pk for paths in self.paths.values() for s in paths.steps]
        for variant in StepVariant.objects.filter(step_id__in=step_ids):
            self.variants[variant.step_id].append(variant)
        for content in StepContent.objects.filter(step_id__in=step_ids):
            key = (content.variant_id, content.channel, content.locale)
            self.contents[content.step_id][key] = content
        self.known = ContactFacts({e.contact_id for e in enrollments})
        self._reach = None
        self.visits = defaultdict(list)  # enrollment pk -> [(step pk, branch, due at)]

    def visited(self, enrollment, step, branch, due_at):
        self.visits[enrollment.pk].append((step.pk, branch, due_at))

    def facts(self, enrollment):
        return self.known.for_condition(enrollment.contact_id, enrollment.cart)

    def goal(self, enrollment):
        return self.known.goal(
            enrollment.flow, enrollment.contact_id, enrollment.cart, enrollment.triggered_at
        )

    def content(self, step, variant, channel, locale):
        """The step's content for the channel in the contact's language, or the default."""
        variant_id = variant.pk if variant else None
        contents = self.contents[step.pk]
        for candidate in (locale, locale.split("-")[0] if locale else None, ""):
            if candidate is not None and (variant_id, channel, candidate) in contents:
                return contents[variant_id, channel, candidate]
        return None

    def channels_with_content(self, step, variant):
        variant_id = variant.pk if variant else None
        return sorted({ch for (v, ch, _locale) in self.contents[step.pk] if v == variant_id})

    def reach(self):
        """Consents, suppressions and push subscriptions of the batch's contacts, read on
        the first best-channel step (in three queries, whatever the batch's size)."""
        if self._reach is None:
            contacts = [e.contact for e in self.enrollments]
            prefetch_related_objects(contacts, "push_subscriptions")
            self._reach = policy.Reach(contacts)
        return self._reach


@dataclass
class Planned:
    """A message a step will queue, decided before the batch asks the shop for codes and
    recommendations."""

    enrollment: Enrollment
    step: object
    variant: object
    channel: str
    content: StepContent
    purpose: str
    recommendations: list | None = None  # for content that shows them, as JSON


def advance_due(now=None, owner=None):
    """Advance one batch of due enrollments; returns an ``AdvanceReport``.

    The number of statements does not depend on the batch's size: the facts are read for
    the whole batch, the shop is asked once for all the codes and once for all the
    recommendations, and the messages and enrollments are written with one statement each.
    """
    now = now or timezone.now()
    owner = owner or worker_id()
    report = AdvanceReport()
    ids = claim(owner, omnichannel_settings.FLOW_BATCH_SIZE, now)
    report.claimed = len(ids)
    if not ids:
        return report
    enrollments = list(Enrollment.objects.filter(pk__in=ids).select_related("contact", "cart"))
    # A batch holds a few flows: read once each, not joined to every row.
    flows = Flow.objects.in_bulk({e.flow_id for e in enrollments})
    for enrollment in enrollments:
        enrollment.flow = flows[enrollment.flow_id]
    batch = Batch(enrollments)
    # Offers and recommendations ask the shop's adapter, which may be slow: keep the lease.
    lease = claims.Lease(
        Enrollment.objects.filter(state=EnrollmentState.ACTIVE), owner, lease_seconds()
    )
    planned, exits = [], defaultdict(list)
    for enrollment in enrollments:
        goal = batch.goal(enrollment)
        if goal:
            exits[ExitGoal(goal).label].append(enrollment)
            continue
        plan = advance(enrollment, batch, now, report)
        if plan is not None:
            planned.append(plan)
    lease.renew_if_due()
    messages = messages_for(planned, now)
    lease.renew_if_due()
    for reason, leaving in exits.items():
        report.exited += exit_enrollments(leaving, reason)
    exited = {e.pk for leaving in exits.values() for e in leaving}
    stayed = [e for e in enrollments if e.pk not in exited]
    with transaction.atomic():
        queue_messages(messages, now)
        visits = [(e.pk, *visit) for e in stayed for visit in batch.visits[e.pk]]
        insert_rows(StepVisit, VISIT_ROW, visits, common={"visited_at": now})
        for enrollment in stayed:
            enrollment.locked_until, enrollment.locked_by = None, ""
        update_rows(
            stayed,
            ["state", "next_step", "next_step_at", "variants", "offer_code",
             "offer_expires_at", "ended_at", "locked_until", "locked_by"],
            where="locked_by = %s AND state = %s",
            where_params=[owner, EnrollmentState.ACTIVE],
        )  # fmt: skip
    report.queued = len(messages)
    if messages:
        transaction.on_commit(wake_dispatcher)
    return report


VISIT_ROW = ("enrollment", "step", "branch", "due_at")


def advance_all(time_budget=None):
    """Advance batches until none is due or the time budget is spent."""
    owner = worker_id()
    return run_batches(
        lambda: advance_due(owner=owner),
        AdvanceReport(),
        lambda batch: batch.claimed,
        time_budget or omnichannel_settings.FLOW_TIME_BUDGET_SECONDS,
        omnichannel_settings.FLOW_BATCH_SIZE,
    )


def advance(enrollment, batch, now, report):
    """Take ``enrollment`` one step on its path; returns the ``Planned`` message, if any.

    A message step plans its message; a split sends the contact down its yes or no path,
    deciding on the facts read for the batch; reaching an end step (or no step) completes.
    """
    paths = batch.paths[enrollment.flow_id]
    step = paths.get(enrollment.next_step_id)
    plan = following = None
    if step is not None:
        variant = variants.assign(enrollment, step, batch.variants[step.pk])
        ready_at = cart_ready_at(enrollment, step, variant)
        if ready_at > now:
            enrollment.next_step_at = ready_at  # the cart was edited: the clock restarts
            report.postponed += 1
            return None
        branch = None
        if step.kind == StepKind.SPLIT:
            branch = conditions.met(step.conditions, enrollment.contact, batch.facts(enrollment))
        following = paths.after(step, branch=branch)
        batch.visited(enrollment, step, branch, enrollment.next_step_at)
        if step.kind == StepKind.MESSAGE:
            # A skipped step still takes its place in time: the next one keeps its delay.
            plan = plan_for(enrollment, step, variant, batch)
            if plan is None:
                report.skipped += 1
    if following is not None and following.kind == StepKind.EXIT:
        batch.visited(enrollment, following, None, now)  # an end acts at once
    if following is not None and following.kind != StepKind.EXIT:
        following_variant = variants.assign(enrollment, following, batch.variants[following.pk])
        enrollment.next_step_id = following.pk
        enrollment.next_step_at = step_due(following, following_variant, now, enrollment.contact)
    else:
        enrollment.state, enrollment.ended_at = EnrollmentState.COMPLETED, now
        enrollment.next_step_id = enrollment.next_step_at = None
        report.completed += 1
    return plan


def cart_ready_at(enrollment, step, variant):
    """When a cart enrollment's ``step`` may go, given the cart's latest activity.

    Editing an abandoned cart restarts the current step's clock from the moment the cart
    is idle again, instead of starting a new enrollment. Other enrollments: at once.
    """
    cart = enrollment.cart
    if cart is None:
        return enrollment.triggered_at
    idle_again = cart.last_activity_at + idle_time()
    if idle_again <= enrollment.triggered_at:
        return enrollment.triggered_at
    return step_due(step, variant, idle_again, enrollment.contact)


def plan_for(enrollment, step, variant, batch):
    """The message this step queues, or None when the step does not apply."""
    contact, cart = enrollment.contact, enrollment.cart
    if not conditions.met(step.conditions, contact, batch.facts(enrollment)):
        return None
    if step.min_cart_value is not None and (cart is None or cart.value < step.min_cart_value):
        return None
    channel = (variant.channel if variant and variant.channel else "") or step.channel
    if channel == BEST_CHANNEL:
        choice = {"candidates": batch.channels_with_content(step, variant)}
        choice["cart_value"] = cart.value if cart else None
        choice["reach"] = batch.reach()
        if is_transactional(step, enrollment):
            channel = policy.choose_channel(contact, purpose=Purpose.TRANSACTIONAL, **choice)
        else:
            channel = policy.choose_channel(contact, **choice)
        if channel is None and not step.has_offer and may_go_transactional(enrollment):
            # Without marketing consent, a cart reminder may still go as the purchase's
            # follow-up, and a notice the contact asked for as the service they asked for.
            channel = policy.choose_channel(contact, purpose=Purpose.TRANSACTIONAL, **choice)
        if channel is None:
            return None
    content = batch.content(step, variant, channel, contact.locale)
    if content is None:
        logger.warning("omnichannel: %s has no %s content; skipped", step, channel)
        return None
    purpose = purpose_for(enrollment, step, channel, batch)
    if purpose == Purpose.TRANSACTIONAL and step.has_offer:
        return None  # a discount is marketing: never sent without consent
    return Planned(enrollment, step, variant, channel, content, purpose)


def messages_for(planned, now):
    """The outbox messages of ``planned``, after one call to the shop for the codes of the
    steps with an offer and one for the recommendations of the contents showing them."""
    offers.ensure_offers(
        [(p.enrollment, p.step, p.variant) for p in planned if p.step.has_offer], now
    )
    # Asking the shop for recommendations costs queries: only for content that shows them.
    showing = [p for p in planned if shows_recommendations(p.content)]
    for plan, products in zip(
        showing, recommended_products([p.enrollment for p in showing]), strict=True
    ):
        plan.recommendations = products
    rows = []
    for plan in planned:
        enrollment, step = plan.enrollment, plan.step
        message_uuid = uuid.uuid4()
        context = message_context(plan)
        if enrollment.cart is not None:
            context["cart"]["restore_url"] = restore_url(enrollment.cart, message_uuid)
        rows.append(
            (
                message_uuid, f"flow:{enrollment.pk}:{step.pk}", enrollment.contact_id,
                plan.channel, plan.purpose, f"flow:{enrollment.flow.slug}:{step.position + 1}",
                enrollment.pk, step.pk, plan.variant.pk if plan.variant else None,
                plan.content.as_message_content(), context, enrollment.flow.priority,
            )
        )  # fmt: skip
    return rows


# The columns of a flow's message that differ from one to the next (``messages_for``).
MESSAGE_ROW = (
    "uuid", "idempotency_key", "contact", "channel", "purpose", "source", "enrollment",
    "step", "variant", "content", "context", "priority",
)  # fmt: skip


def queue_messages(rows, now):
    """Write ``messages_for``'s rows in one statement; a row whose key exists (a retried
    batch) is skipped."""
    expires_at = now + timedelta(seconds=omnichannel_settings.FLOW_MESSAGE_TTL_SECONDS)
    common = {"scheduled_at": now, "expires_at": expires_at, "created_at": now, "updated_at": now}
    insert_rows(Message, MESSAGE_ROW, rows, common=common)


def shows_recommendations(content):
    return "recommendations" in content.template_text()


def recommended_products(enrollments):
    """The shop's recommendations for each enrollment's contact and cart, as JSON."""
    if not enrollments:
        return []
    carts = [(e.contact, cart_lines_from_json(bought_or_carted(e))) for e in enrollments]
    answers = get_adapter().recommendations_for(carts, limit=3)
    if len(answers) != len(carts):
        raise ValueError(
            f"ShopAdapter.recommendations_for() returned {len(answers)} lists for "
            f"{len(carts)} carts: it must return one list per cart, in order."
        )
    return [
        [
            {"name": p.name, "url": p.url, "price": str(p.price or ""), "image_url": p.image_url}
            for p in products
        ]
        for products in answers
    ]


def bought_or_carted(enrollment):
    """The lines recommendations go beside: the cart's, or the order's (cross-sell)."""
    if enrollment.cart is not None:
        return enrollment.cart.lines
    order = enrollment.context.get("order")
    return order.get("lines", []) if isinstance(order, dict) else []


def purpose_for(enrollment, step, channel, batch):
    """Flow messages are marketing, but for a transactional step of an order's flow (the
    thank-you). To a contact without consent for ``channel``, a message that may go
    transactional (see ``may_go_transactional``) is sent as transactional."""
    if is_transactional(step, enrollment):
        return Purpose.TRANSACTIONAL
    if (
        may_go_transactional(enrollment)
        and batch.known.consents[enrollment.contact_id].get(channel) != ConsentStatus.GRANTED
    ):
        return Purpose.TRANSACTIONAL
    return Purpose.MARKETING


def is_transactional(step, enrollment):
    """A step marked transactional is one only in a flow started by an order, and never
    with an offer (flow validation refuses the rest; this holds even if it is bypassed)."""
    return step.transactional and not step.has_offer and enrollment.flow.trigger in ORDER_TRIGGERS


def may_go_transactional(enrollment):
    """Whether the enrollment's messages may fall back to transactional when the contact
    gave no marketing consent: a cart reminder in the opt-in recovery mode, or a back in
    stock / price drop notice the contact asked for."""
    return transactional_recovery(enrollment) or requested_notice(enrollment)


def transactional_recovery(enrollment):
    return (
        omnichannel_settings.CART_RECOVERY_TRANSACTIONAL
        and enrollment.flow.kind == FlowKind.CART_RECOVERY
    )


def requested_notice(enrollment):
    """The contact asked to be told ("notify me"): the notice is the service they asked
    for. Only these triggers: a custom event's properties are the shop's own words."""
    return (
        enrollment.flow.trigger in (Trigger.BACK_IN_STOCK, Trigger.PRICE_DROP)
        and enrollment.context.get("requested") is True
    )


def message_context(plan):
    """What the step's templates may use, as JSON (it is stored with the message)."""
    enrollment, step, variant = plan.enrollment, plan.step, plan.variant
    cart = enrollment.cart
    context = {
        "flow": {"name": enrollment.flow.name, "slug": enrollment.flow.slug},
        "step": {"name": step.name, "position": step.position + 1},
        "variant": variant.name if variant else "",
        "trigger": enrollment.context,
    }
    if isinstance(enrollment.context.get("order"), dict):
        context["order"] = enrollment.context["order"]  # an order's flow (flows.orders)
    if cart is not None:
        context["cart"] = {
            "lines": list(cart.lines),
            "item_count": cart.item_count,
            "value": str(cart.value),
            "currency": cart.currency,
        }
    if step.has_offer:
        context["discount"] = {
            "code": enrollment.offer_code,
            "kind": step.offer_kind,
            "value": str(
                variant.offer_value if variant and variant.offer_value else step.offer_value or ""
            ),
            "expires_at": enrollment.offer_expires_at.isoformat(),
        }
    if plan.recommendations is not None:
        context["recommendations"] = plan.recommendations
    return context


def cart_lines_from_json(lines):
    from ..integrations.adapter import CartLine

    return [
        CartLine(
            product_id=line.get("product_id", ""),
            name=line.get("name", ""),
            quantity=line.get("quantity", 0),
            unit_price=line.get("unit_price", 0),
            sku=line.get("sku", ""),
            url=line.get("url", ""),
            image_url=line.get("image_url", ""),
        )
        for line in lines
    ]
