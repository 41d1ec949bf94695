"""Cart recovery figures: what abandoned carts became, and what the reminders earned.

The figures follow a cohort: the carts (with lines) abandoned on the chosen days that a
reminder could reach (``CartSnapshot.reachable``; those nobody could remind are counted
apart, as ``unreachable``, and take no part in the rates), followed wherever they went
afterwards, even past the last day: their recovery messages, the clicks on those, the
orders that came next. A rate only means something when its numerator is a
part of its denominator, and a cohort gives that. A cart edited and abandoned again counts
on the day of its latest abandonment (that is what ``abandoned_at`` keeps).

Attribution. An order (a ``TrackedOrder`` that counts as a purchase) is *recovered* when it
follows a click on a cart-recovery message (the cart restore link or a tracked link) within
the attribution window of the message's flow, placed by the message's contact or from the
cart itself. The same rule with *sends* instead of clicks gives a second figure, shown apart
and labelled: it is larger, and a send is weaker evidence than a click. Each order counts
once, for the last touch before it, so the per-step rows add up to the totals.

Lift. Held-out carts get no message, hence no click: they are compared with the enrolled
carts on the one measure both have, a purchase within the window after the trigger.

Seven aggregate queries, whatever the number of carts, messages and orders; only the lines
of the cohort's carts are read row by row (in chunks), to count the abandoned products.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.db.models.lookups import Exact, GreaterThan, LessThanOrEqual
from django.utils import timezone

from ..core.rates import lift, ratio
from ..models import CartSnapshot, DeliveryEvent, Enrollment, Message, TrackedOrder
from ..models.flows import EnrollmentState, FlowKind
from ..models.messages import DeliveryEventKind

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
    for values in attributed_orders(clicks().filter(touch_cart__in=cohort), since):
        row = rows[values["step"], values["channel"], values["variant"]]
        for orders in (recovered_orders, row.orders):
            orders.add(values["currency"], values["orders"], values["revenue"])
    orders_after_send = Orders()
    for values in attributed_orders(sends().filter(touch_cart__in=cohort), since):
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


def window(queryset, at, enrollment, contact):
    """``queryset`` with what an order is matched on: ``touched_at``, the end of the
    attribution window ``until``, the contact and the cart (cart-recovery flows only)."""
    return queryset.filter(
        **{f"{enrollment}flow__kind": FlowKind.CART_RECOVERY, f"{at}__isnull": False}
    ).annotate(
        touched_at=F(at),
        until=F(at) + F(f"{enrollment}flow__attribution_window"),
        touch_contact=F(contact),
        touch_cart=F(f"{enrollment}cart_id"),
    )


def touches(queryset, at, message):
    """A recovery message reaching someone (a send, a click), with the message's step,
    channel and variant to credit. ``message`` is the path to the message ("" for one)."""
    return window(queryset, at, f"{message}enrollment__", f"{message}contact_id").annotate(
        touch_step=F(f"{message}step_id"),
        touch_channel=F(f"{message}channel"),
        touch_variant=F(f"{message}variant_id"),
    )


def clicks():
    """Clicks on recovery messages: on the cart restore link or on a tracked link."""
    clicked = DeliveryEvent.objects.filter(kind=DeliveryEventKind.CLICKED)
    return touches(clicked, "occurred_at", "message__")


def sends():
    """Recovery messages that went out."""
    return touches(Message.objects.all(), "sent_at", "")


def follows(order, touch):
    """The condition "the order follows the touch": placed after it, within its window, by
    its contact or from its cart. ``order`` and ``touch`` turn field names into expressions
    (``F`` for the query's own rows, ``OuterRef`` for the outer query's), so one rule serves
    orders looked up from a touch and touches looked up from an order."""
    return (
        GreaterThan(order("placed_at"), touch("touched_at"))
        & LessThanOrEqual(order("placed_at"), touch("until"))
        & (
            Exact(order("contact_id"), touch("touch_contact"))
            | Exact(order("cart_id"), touch("touch_cart"))
        )
    )


def purchases_after():
    """Purchases following the outer touch (a queryset annotated by ``window``)."""
    return TrackedOrder.objects.filter(follows(F, OuterRef), is_purchase=True)


def attributed_orders(touched, since):
    """Purchases following one of the ``touched`` (see ``touches``), each counted once,
    grouped by currency and by the step, channel and variant of the last touch before it."""
    before = touched.filter(follows(OuterRef, F)).order_by("-touched_at", "-pk")
    return (
        # A touch comes after the abandonment, so no earlier order can follow one.
        TrackedOrder.objects.filter(Exists(before), is_purchase=True, placed_at__gt=since)
        .annotate(
            step=Subquery(before.values("touch_step")[:1]),
            channel=Subquery(before.values("touch_channel")[:1]),
            variant=Subquery(before.values("touch_variant")[:1]),
        )
        .values("currency", "step", "channel", "variant")
        .annotate(orders=Count("pk"), revenue=Sum("total"))
        .order_by()
    )


# --- the queries -------------------------------------------------------------------------


def days(carts, start, end, zone):
    """The funnel per day of abandonment, every day of the period present."""
    reached, clicked = (
        sends().filter(touch_cart=OuterRef("pk")),
        clicks().filter(touch_cart=OuterRef("pk")),
    )
    counted = (
        carts.annotate(
            day=TruncDate("abandoned_at", tzinfo=zone),
            is_reached=Exists(reached),
            is_clicked=Exists(clicked),
            is_recovered=Exists(clicked.filter(Exists(purchases_after()))),
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
    enrollments = window(
        Enrollment.objects.filter(cart__in=carts.values("pk")), "triggered_at", "", "contact_id"
    )
    return Holdout(
        **enrollments.annotate(purchased=Exists(purchases_after())).aggregate(
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
