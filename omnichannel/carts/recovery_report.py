"""Cart recovery figures: what abandoned carts became, and what the reminders earned.

The figures follow a cohort: the carts (with lines) abandoned on the chosen days that a
reminder could reach (``CartSnapshot.reachable``; those nobody could remind are counted
apart, as ``unreachable``, and take no part in the rates), followed wherever they went
afterwards, even past the last day: their recovery messages, the clicks on those, the
orders that came next. A rate only means something when its numerator is a
part of its denominator, and a cohort gives that. A cart edited and abandoned again counts
on the day of its latest abandonment (that is what ``abandoned_at`` keeps).

Attribution: the one model every report shares (``carts.attribution``, the
``ATTRIBUTION`` setting), stored on the order when it became a purchase. An order is
*recovered* when it was credited to a click on a recovery message of the cohort (the cart
restore link or a tracked link); the orders credited to a recovery message of the cohort,
clicked or sent, give a second figure, shown apart and labelled: it is larger, and a send is
weaker evidence than a click. Each order counts once, for the step the flow page credits
it to too, so the per-step rows add up to the totals.

Lift. Held-out carts get no message, hence no credit: they are compared with the enrolled
carts on the one measure both have, a purchase (by the cart's contact or from the cart)
within the flow's ``conversion_window`` after the trigger.

Seven aggregate queries, whatever the number of carts, messages and orders; only the lines
of the cohort's carts are read row by row (in chunks), to count the abandoned products.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..core.rates import lift, ratio
from ..models import CartSnapshot, DeliveryEvent, Enrollment, Message, TrackedOrder
from ..models.flows import EnrollmentState, FlowKind
from ..models.messages import DeliveryEventKind
from ..models.orders import AttributionKind

ZERO = Decimal("0")
TOP_PRODUCTS = 10


# --- the figures -------------------------------------------------------------------------


@dataclass
class Orders:
    """Attributed orders: how many, and their revenue per currency."""

    count: int = 0
    revenue: dict = field(default_factory=dict)

    def add(self, currency, count, revenue):
        self.count += count
        self.revenue[currency] = self.revenue.get(currency, ZERO) + revenue


@dataclass
class Day:
    date: date
    abandoned: int = 0  # that a reminder could reach
    unreachable: int = 0  # abandoned too, but nobody could be reminded (no consent, no contact)
    reached: int = 0
    clicked: int = 0
    recovered: int = 0


@dataclass
class Row:
    """One step, channel and variant of a cart-recovery flow; orders are click-attributed."""

    flow: str
    step: str
    channel: str
    variant: str
    sent: int = 0
    clicked: int = 0
    orders: Orders = field(default_factory=Orders)


@dataclass
class Holdout:
    """Carts that got the reminders against held-out carts, on purchases after the trigger."""

    enrolled: int = 0
    enrolled_purchased: int = 0
    held_out: int = 0
    held_out_purchased: int = 0

    @property
    def enrolled_rate(self):
        return ratio(self.enrolled_purchased, self.enrolled)

    @property
    def held_out_rate(self):
        return ratio(self.held_out_purchased, self.held_out)

    @property
    def lift_points(self):
        """The difference of the two rates (0.05 = five percentage points), or None."""
        if self.enrolled_rate is None or self.held_out_rate is None:
            return None
        return self.enrolled_rate - self.held_out_rate

    @property
    def lift(self):
        """Relative lift over the holdout (0.25 = 25 % more purchases), or None."""
        return lift(self.enrolled_rate, self.held_out_rate)


@dataclass
class Product:
    name: str
    carts: int = 0
    quantity: int = 0
    value: dict = field(default_factory=dict)  # currency -> Decimal


@dataclass
class RecoveryReport:
    start: date
    end: date
    days: list
    recovered_orders: Orders  # after a click
    orders_after_send: Orders  # after a send, clicked or not
    rows: list
    cost: dict  # currency -> Decimal, every recovery message of the cohort
    holdout: Holdout
    products: list

    def _total(self, name):
        return sum(getattr(day, name) for day in self.days)

    @property
    def abandoned(self):
        return self._total("abandoned")

    @property
    def unreachable(self):
        return self._total("unreachable")

    @property
    def reached(self):
        return self._total("reached")

    @property
    def clicked(self):
        return self._total("clicked")

    @property
    def recovered(self):
        """Carts with a click followed by an order within the window."""
        return self._total("recovered")

    @property
    def recovery_rate(self):
        return ratio(self.recovered, self.abandoned)

    @property
    def cost_per_recovered_order(self):
        orders = self.recovered_orders.count
        return (
            {currency: amount / orders for currency, amount in self.cost.items()} if orders else {}
        )


def recovery_report(start, end, *, top_products=TOP_PRODUCTS):
    """The figures for the carts abandoned from ``start`` to ``end`` (dates, both
    included, in the current time zone)."""
    zone = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    abandoned = CartSnapshot.objects.filter(
        abandoned_at__gte=since, abandoned_at__lt=until, item_count__gt=0
    )
    # The cohort is the carts a reminder could reach; the others are only counted, apart.
    carts = abandoned.exclude(reachable=False)
    cohort = carts.values("pk")
    messages = Message.objects.filter(
        enrollment__flow__kind=FlowKind.CART_RECOVERY, enrollment__cart__in=cohort
    )
    recovered_orders, rows = Orders(), message_rows(messages)
    for values in credited_orders(messages, AttributionKind.CLICK):
        row = rows[values["step"], values["channel"], values["variant"]]
        for orders in (recovered_orders, row.orders):
            orders.add(values["currency"], values["orders"], values["revenue"])
    orders_after_send = Orders()
    for values in credited_orders(messages, AttributionKind.CLICK, AttributionKind.SEND):
        orders_after_send.add(values["currency"], values["orders"], values["revenue"])
    return RecoveryReport(
        start=start,
        end=end,
        days=days(abandoned, start, end, zone),
        recovered_orders=recovered_orders,
        orders_after_send=orders_after_send,
        rows=[row for row in rows.values() if row.sent or row.clicked or row.orders.count],
        cost=message_cost(messages),
        holdout=holdout(carts),
        products=abandoned_products(carts, top_products),
    )


# --- attribution -------------------------------------------------------------------------


def credited_orders(messages, *kinds):
    """Purchases credited to one of ``messages`` by one of ``kinds`` (click, send), grouped
    by currency and by the step, channel and variant they were credited to."""
    return (
        TrackedOrder.objects.filter(
            is_purchase=True,
            attributed_by__in=kinds,
            attributed_message__in=messages.values("pk"),
        )
        .values(
            "currency",
            step=F("attributed_step"),
            channel=F("attributed_channel"),
            variant=F("attributed_variant"),
        )
        .annotate(orders=Count("pk"), revenue=Sum("total"))
        .order_by()
    )


# --- the queries -------------------------------------------------------------------------


def days(carts, start, end, zone):
    """The funnel per day of abandonment, every day of the period present."""
    recovery = {
        "enrollment__flow__kind": FlowKind.CART_RECOVERY,
        "enrollment__cart": OuterRef("pk"),
    }
    reached = Message.objects.filter(sent_at__isnull=False, **recovery)
    clicked = DeliveryEvent.objects.filter(
        kind=DeliveryEventKind.CLICKED, **{f"message__{k}": v for k, v in recovery.items()}
    )
    recovered = TrackedOrder.objects.filter(
        is_purchase=True,
        attributed_by=AttributionKind.CLICK,
        **{f"attributed_message__{k}": v for k, v in recovery.items()},
    )
    counted = (
        carts.annotate(
            day=TruncDate("abandoned_at", tzinfo=zone),
            is_reached=Exists(reached),
            is_clicked=Exists(clicked),
            is_recovered=Exists(recovered),
        )
        .values("day")
        .annotate(
            abandoned=Count("pk", filter=~Q(reachable=False)),
            unreachable=Count("pk", filter=Q(reachable=False)),
            reached=Count("pk", filter=Q(is_reached=True)),
            clicked=Count("pk", filter=Q(is_clicked=True)),
            recovered=Count("pk", filter=Q(is_recovered=True)),
        )
        .order_by()
    )
    by_day = {values.pop("day"): values for values in counted}
    return [
        Day(date=day, **by_day.get(day, {}))
        for day in (start + timedelta(days=n) for n in range((end - start).days + 1))
    ]


def message_rows(messages):
    """Sent and clicked recovery messages per step, channel and variant, keyed by ids."""
    clicked = DeliveryEvent.objects.filter(message=OuterRef("pk"), kind=DeliveryEventKind.CLICKED)
    counted = (
        messages.values(
            "step_id",
            "channel",
            "variant_id",
            "step__flow__name",
            "step__position",
            "step__name",
            "variant__name",
        )
        .annotate(
            sent=Count("pk", filter=Q(sent_at__isnull=False)),
            clicked=Count("pk", filter=Exists(clicked)),
        )
        .order_by("step__flow__name", "step__position", "channel", "variant__name")
    )
    rows = {}
    for values in counted:
        position = values["step__position"]
        rows[values["step_id"], values["channel"], values["variant_id"]] = Row(
            flow=values["step__flow__name"] or "",
            step="" if position is None else f"{position + 1}. {values['step__name']}",
            channel=values["channel"],
            variant=values["variant__name"] or "",
            sent=values["sent"],
            clicked=values["clicked"],
        )
    return rows


def message_cost(messages):
    """What the recovery messages cost, per currency (free channels record no cost)."""
    costs = messages.filter(cost__isnull=False).values("cost_currency").annotate(total=Sum("cost"))
    return {values["cost_currency"]: values["total"] for values in costs.order_by()}


def holdout(carts):
    """Enrolled and held-out carts of the cohort, and how many of each were bought."""
    held_out = Q(state=EnrollmentState.HELD_OUT)
    trigger = OuterRef("triggered_at")
    purchased = TrackedOrder.objects.filter(
        Q(contact=OuterRef("contact")) | Q(cart=OuterRef("cart")),
        is_purchase=True,
        placed_at__gt=trigger,
        placed_at__lte=trigger + OuterRef("flow__conversion_window"),
    )
    enrollments = Enrollment.objects.filter(
        cart__in=carts.values("pk"), flow__kind=FlowKind.CART_RECOVERY
    )
    return Holdout(
        **enrollments.annotate(purchased=Exists(purchased)).aggregate(
            enrolled=Count("cart", distinct=True, filter=~held_out),
            enrolled_purchased=Count("cart", distinct=True, filter=~held_out & Q(purchased=True)),
            held_out=Count("cart", distinct=True, filter=held_out),
            held_out_purchased=Count("cart", distinct=True, filter=held_out & Q(purchased=True)),
        )
    )


def abandoned_products(carts, limit):
    """The products found most often in the cohort's carts: in how many carts, how many
    units, and their value per currency. Lines are the app's JSON copy of the shop's
    cart: a line that cannot be read is left out rather than failing the report."""
    products = {}
    for lines, currency in carts.values_list("lines", "currency").iterator(chunk_size=2000):
        seen = set()
        for line in lines if isinstance(lines, list) else ():
            try:
                quantity = int(line.get("quantity") or 0)
                value = Decimal(str(line.get("unit_price") or 0)) * quantity
                name = str(line.get("name") or "")
                key = str(line.get("product_id") or "") or name
            except (AttributeError, TypeError, ValueError, InvalidOperation):
                continue
            product = products.setdefault(key, Product(name=name))
            if key not in seen:
                seen.add(key)
                product.carts += 1
            product.quantity += quantity
            product.value[currency] = product.value.get(currency, ZERO) + value
    ranked = sorted(products.values(), key=lambda p: (-p.carts, -p.quantity, p.name))
    return ranked[:limit]
