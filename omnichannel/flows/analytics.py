"""What a flow led to: messages and their fate, orders and revenue, lift and cost.

The figures follow a cohort: the enrollments triggered inside the chosen period, with
every message those enrollments received and every order attributed to them, even when
the order came after the period. Comparing a cohort with its own holdout is what makes
the lift meaningful; counting messages by send date would mix cohorts.

Attribution: an order (a ``TrackedOrder`` that counts as a purchase) belongs to the flow
when the contact received a message of the flow before it, within the flow's
``attribution_window``. Each order counts once, for the last message before it (last
touch), so per-step, per-channel and per-variant figures add up to the flow's total.

Lift: the conversion rate of the contacts who went through the flow against the holdout's,
both measured the same way (a purchase within the attribution window after the trigger).
Holdout contacts receive no message, so "attributed to a message" cannot be the measure.

Every figure comes from a fixed handful of aggregate queries, whatever the flow's size.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.utils.translation import gettext as _

from ..core.rates import lift, ratio
from ..models import DeliveryEvent, Enrollment, Message, Step, StepVariant, TrackedOrder
from ..models.flows import EnrollmentState
from ..models.messages import DeliveryEventKind

ZERO = Decimal("0")


@dataclass
class Row:
    """One step, channel and variant of the flow."""

    step: str
    channel: str
    variant: str
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    cost: Decimal = ZERO
    conversions: int = 0
    revenue: Decimal = ZERO

    @property
    def open_rate(self):
        return ratio(self.opened, self.sent)

    @property
    def click_rate(self):
        return ratio(self.clicked, self.sent)

    @property
    def cost_per_conversion(self):
        return ratio(self.cost, self.conversions)


@dataclass
class FlowFigures:
    enrolled: int = 0
    enrolled_converted: int = 0
    held_out: int = 0
    held_out_converted: int = 0
    rows: list = field(default_factory=list)
    channels: list = field(default_factory=list)  # Rows summed per channel
    order_currencies: set = field(default_factory=set)
    cost_currencies: set = field(default_factory=set)

    @property
    def sent(self):
        return sum(row.sent for row in self.rows)

    @property
    def conversions(self):
        return sum(row.conversions for row in self.rows)

    @property
    def revenue(self):
        return sum((row.revenue for row in self.rows), ZERO)

    @property
    def cost(self):
        return sum((row.cost for row in self.rows), ZERO)

    @property
    def cost_per_conversion(self):
        return ratio(self.cost, self.conversions)

    @property
    def conversion_rate(self):
        return ratio(self.enrolled_converted, self.enrolled)

    @property
    def holdout_conversion_rate(self):
        return ratio(self.held_out_converted, self.held_out)

    @property
    def lift(self):
        """Relative lift over the holdout (0.25 = 25 % more conversions), or None."""
        return lift(self.conversion_rate, self.holdout_conversion_rate)


def flow_figures(flow, start=None, end=None):
    """The figures of ``flow`` for enrollments triggered in ``[start, end)`` (aware
    datetimes; None leaves that side open). Five queries."""
    cohort = cohort_of(flow, start, end)
    figures = FlowFigures(**enrollment_counts(cohort, flow.attribution_window))
    rows = message_rows(flow, cohort, figures)
    figures.rows = _labelled(flow, rows)
    figures.channels = _per_channel(figures.rows)
    return figures


def cohort_of(flow, start=None, end=None):
    """The enrollments of ``flow`` triggered in ``[start, end)``."""
    period = Q(flow=flow)
    if start is not None:
        period &= Q(triggered_at__gte=start)
    if end is not None:
        period &= Q(triggered_at__lt=end)
    return Enrollment.objects.filter(period)


def message_rows(flow, cohort, figures):
    """``{(step id, channel, variant id): {sent, delivered, ..., conversions, revenue}}``
    for the messages of ``cohort`` and the orders attributed to them, noting the
    currencies seen in ``figures``. Two queries."""
    messages = Message.objects.filter(enrollment__in=cohort.values("pk"))
    rows = {}
    for values in _message_counts(messages):
        figures.cost_currencies.add(values.pop("cost_currency"))
        _add(rows, values)
    for values in _attributed_orders(messages, cohort, flow.attribution_window):
        figures.order_currencies.add(values.pop("currency"))
        _add(rows, values)
    figures.cost_currencies.discard("")
    return rows


def _add(rows, values):
    """Add ``values`` to the row of their step, channel and variant."""
    key = (values.pop("step_id"), values.pop("channel"), values.pop("variant_id"))
    row = rows.setdefault(key, {})
    for name, value in values.items():
        row[name] = row.get(name, 0) + value


def enrollment_counts(cohort, window):
    return cohort.annotate(converted=_converted(window)).aggregate(**_holdout_counts())


def holdout_counts_per_flow(enrollments):
    """``enrollment_counts`` of each flow among ``enrollments`` in one grouped query, each
    measured over its own flow's window: ``{"flow", "flow__name", "enrolled", ...}`` rows."""
    return (
        enrollments.annotate(converted=_converted(OuterRef("flow__attribution_window")))
        .values("flow", "flow__name")
        .annotate(**_holdout_counts())
        .order_by("flow__name", "flow")
    )


def _converted(window):
    """Whether the enrollment's contact bought within ``window`` after the trigger."""
    purchase = TrackedOrder.objects.filter(
        contact=OuterRef("contact"),
        is_purchase=True,
        placed_at__gt=OuterRef("triggered_at"),
        placed_at__lte=OuterRef("triggered_at") + window,
    )
    return Exists(purchase)


def _holdout_counts():
    held_out = Q(state=EnrollmentState.HELD_OUT)
    return {
        "enrolled": Count("pk", filter=~held_out),
        "enrolled_converted": Count("pk", filter=~held_out & Q(converted=True)),
        "held_out": Count("pk", filter=held_out),
        "held_out_converted": Count("pk", filter=held_out & Q(converted=True)),
    }


def _event(*kinds):
    return Exists(DeliveryEvent.objects.filter(message=OuterRef("pk"), kind__in=kinds))


def _message_counts(messages):
    return (
        messages.values("step_id", "channel", "variant_id", "cost_currency")
        .annotate(
            sent=Count("pk", filter=Q(sent_at__isnull=False)),
            delivered=Count("pk", filter=Q(delivered_at__isnull=False)),
            opened=Count(
                "pk",
                filter=Q(read_at__isnull=False)
                | Q(_event(DeliveryEventKind.OPENED, DeliveryEventKind.READ)),
            ),
            clicked=Count("pk", filter=Q(_event(DeliveryEventKind.CLICKED))),
            cost=Sum("cost", default=ZERO),
        )
        .order_by()
    )


def _attributed_orders(messages, cohort, window):
    """Purchases grouped by their last flow message before them, within the window."""
    last_touch = messages.filter(
        contact=OuterRef("contact"),
        sent_at__lt=OuterRef("placed_at"),
        sent_at__gte=OuterRef("placed_at") - window,
    ).order_by("-sent_at", "-pk")
    return (
        TrackedOrder.objects.filter(
            is_purchase=True, contact__in=cohort.values("contact"), placed_at__isnull=False
        )
        .annotate(
            step_id=Subquery(last_touch.values("step_id")[:1]),
            channel=Subquery(last_touch.values("channel")[:1]),
            variant_id=Subquery(last_touch.values("variant_id")[:1]),
        )
        .filter(channel__isnull=False)
        .values("step_id", "channel", "variant_id", "currency")
        .annotate(conversions=Count("pk"), revenue=Sum("total"))
        .order_by()
    )


def attributed_message(order):
    """The flow message ``order`` counts for by the rule above (the contact's last flow
    message sent before it, within that message's flow's attribution window), or None."""
    if not (order.is_purchase and order.contact_id and order.placed_at):
        return None
    return (
        Message.objects.filter(
            contact_id=order.contact_id,
            enrollment__isnull=False,
            sent_at__lt=order.placed_at,
            sent_at__gte=order.placed_at - F("enrollment__flow__attribution_window"),
        )
        .order_by("-sent_at", "-pk")
        .first()
    )


def _labelled(flow, rows):
    """Rows with step and variant names, in step order."""
    steps = {step.pk: step for step in Step.objects.filter(flow=flow)}
    variants = dict(StepVariant.objects.filter(step__flow=flow).values_list("pk", "name"))

    def in_step_order(item):
        (step_id, channel, variant_id), _values = item
        step = steps.get(step_id)
        return (step.position if step else 1 << 15, channel, variants.get(variant_id, ""))

    labelled = []
    for (step_id, channel, variant_id), values in sorted(rows.items(), key=in_step_order):
        step = steps.get(step_id)
        label = f"{step.position + 1}. {step.name}" if step else _("(deleted step)")
        labelled.append(
            Row(step=label, channel=channel, variant=variants.get(variant_id, ""), **values)
        )
    return labelled


def _per_channel(rows):
    totals = defaultdict(lambda: Row(step="", channel="", variant=""))
    for row in rows:
        total = totals[row.channel]
        total.channel = row.channel
        for name in ("sent", "delivered", "opened", "clicked", "cost", "conversions", "revenue"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return sorted(totals.values(), key=lambda row: row.channel)
