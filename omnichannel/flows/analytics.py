"""What a flow led to: messages and their fate, orders and revenue, lift and cost.

The figures follow a cohort: the enrollments triggered inside the chosen period, with
every message those enrollments received and every order attributed to them, even when
the order came after the period. Comparing a cohort with its own holdout is what makes
the lift meaningful; counting messages by send date would mix cohorts.

Attribution: an order (a ``TrackedOrder`` that counts as a purchase) belongs to the step,
channel and variant it was credited to when it became a purchase (``carts.attribution``,
the ``ATTRIBUTION`` setting: last click, else last send, per channel), when that message
went to an enrollment of the cohort. Each order counts once, so per-step, per-channel and
per-variant figures add up to the flow's total, and match the cart dashboard's.

Lift: the conversion rate of the contacts who went through the flow against the holdout's,
both measured the same way (a purchase within the flow's ``conversion_window`` after the
trigger). Holdout contacts receive no message, so "credited to a message" cannot be the
measure.

Every figure comes from a fixed handful of aggregate queries, whatever the flow's size.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
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
    # Messages whose cost the provider reported: with none, the cost is unknown (shown
    # as the em dash every report uses), not zero.
    costed: int = 0
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
    def costed(self):
        return sum(row.costed for row in self.rows)

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
    figures = FlowFigures(**enrollment_counts(cohort, flow.conversion_window))
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
    for values in _attributed_orders(cohort):
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
        enrollments.annotate(converted=_converted(OuterRef("flow__conversion_window")))
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
            # Before ``cost``: after it, "cost" names the sum rather than the column.
            costed=Count("cost"),
            cost=Sum("cost", default=ZERO),
        )
        .order_by()
    )


def _attributed_orders(cohort):
    """Purchases credited to a message of ``cohort``, per step, channel and variant."""
    return (
        TrackedOrder.objects.filter(
            is_purchase=True, attributed_message__enrollment__in=cohort.values("pk")
        )
        .values(
            "currency",
            step_id=F("attributed_step"),
            channel=F("attributed_channel"),
            variant_id=F("attributed_variant"),
        )
        .annotate(conversions=Count("pk"), revenue=Sum("total"))
        .order_by()
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
        for name in (
            "sent", "delivered", "opened", "clicked", "cost", "costed", "conversions", "revenue",
        ):  # fmt: skip
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return sorted(totals.values(), key=lambda row: row.channel)
