"""The marketing home's figures: what a period brought, and how it went day by day.

Three families, each read in its own way:

- **Messages**: those *sent* in the period (``sent_at``), with what became of them since
  (delivered, opened, clicked, unsubscribed, bounced), so every rate divides a part by its
  whole. An open that the ESP reports as made by a machine (``DeliveryEvent.machine``: a
  mail privacy proxy fetching the images on delivery) is counted, and the messages opened
  *only* by machines are shown apart, since they say nothing about the reader.
- **Orders**: the purchases *placed* in the period, with the credit stored on each order
  (``TrackedOrder.attributed_*``, decided once when it became a purchase): revenue per
  flow, per channel and per popup read the same credit as every other report. Money stays
  per currency: amounts in euros and in dollars are never added up.
- **List growth**: contacts *created* in the period, by the source they came from.

Holdout lift compares, per flow with held-out enrollments triggered in the period, the
purchase rates of the enrolled and the held out (``flows.analytics``).

Every figure comes from aggregate queries grouped in SQL (by bucket, channel, flow, popup,
source, currency; ``TruncDay`` / ``TruncWeek`` in the current time zone): at most ten
queries in all, whatever the number of days, flows, popups, messages and orders. The
message figures of the days the daily rollup holds (``results_rollup``, rebuilt hourly)
are read from it; only the other days (today, days it lacks) are counted live, by two
queries that on PostgreSQL read their indexes only (``omnichannel_msg_sent_at``,
``omnichannel_event_time``).
"""

from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from ..carts.recovery_report import Orders
from ..core.rates import lift, ratio
from ..models import (
    Contact,
    DeliveryEvent,
    Enrollment,
    Message,
    MessageDay,
    SummarizedDay,
    TrackedOrder,
)
from ..models.channels import Channel
from ..models.flows import FlowKind
from ..models.messages import DeliveryEventKind
from .analytics import holdout_counts_per_flow

ZERO = Decimal("0")
GRANULARITIES = {"day": TruncDay, "week": TruncWeek}
OPENS = (DeliveryEventKind.OPENED, DeliveryEventKind.READ)
HOLDOUT_COUNTS = ("enrolled", "enrolled_converted", "held_out", "held_out_converted")
TRACKED_EVENTS = (
    *OPENS,
    DeliveryEventKind.CLICKED,
    DeliveryEventKind.UNSUBSCRIBED,
    DeliveryEventKind.BOUNCED,
)


def _add_money(money, currency, amount):
    money[currency] = money.get(currency, ZERO) + (amount or ZERO)


def _per_order(money, orders):
    """``money`` divided by ``orders``, per currency; empty (shown as a dash) without
    orders or without any known cost."""
    return {currency: amount / orders for currency, amount in money.items()} if orders else {}


@dataclass
class MessageCounts:
    """Messages sent in the period and what became of them; each counts once per fate."""

    sent: int = 0
    delivered: int = 0
    opened: int = 0
    opened_by_people: int = 0  # at least one open the ESP did not flag as a machine's
    clicked: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    cost: dict = field(default_factory=dict)  # currency -> Decimal, known costs only

    def add(self, values):
        for name, value in values.items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def opened_by_machines_only(self):
        return self.opened - self.opened_by_people

    @property
    def delivery_rate(self):
        return ratio(self.delivered, self.sent)

    @property
    def open_rate(self):
        return ratio(self.opened, self.sent)

    @property
    def click_rate(self):
        return ratio(self.clicked, self.sent)

    @property
    def unsubscribe_rate(self):
        return ratio(self.unsubscribed, self.sent)

    @property
    def bounce_rate(self):
        return ratio(self.bounced, self.sent)


# The counted fates, as the rollup (``MessageDay``) stores them too.
COUNTS = tuple(counted.name for counted in fields(MessageCounts) if counted.type is int)


@dataclass
class Bucket:
    """One day (or the week starting that Monday) of the trend."""

    start: date
    messages: MessageCounts = field(default_factory=MessageCounts)
    purchases: Orders = field(default_factory=Orders)
    credited: Orders = field(default_factory=Orders)  # credited to a message
    new_contacts: int = 0


@dataclass
class ChannelFigures:
    channel: str
    messages: MessageCounts = field(default_factory=MessageCounts)
    orders: Orders = field(default_factory=Orders)

    @property
    def label(self):
        return Channel(self.channel).label if self.channel in Channel.values else self.channel

    @property
    def cost_per_order(self):
        return _per_order(self.messages.cost, self.orders.count)


@dataclass
class Credit:
    """Orders credited to one flow or popup (``name`` is empty once it was deleted)."""

    name: str
    orders: Orders = field(default_factory=Orders)
    carts: int = 0  # distinct carts these orders came from
    kind: str = ""


@dataclass
class Holdout:
    flow: str
    enrolled: int
    enrolled_converted: int
    held_out: int
    held_out_converted: int

    @property
    def enrolled_rate(self):
        return ratio(self.enrolled_converted, self.enrolled)

    @property
    def held_out_rate(self):
        return ratio(self.held_out_converted, self.held_out)

    @property
    def lift(self):
        return lift(self.enrolled_rate, self.held_out_rate)


@dataclass
class Results:
    start: date
    end: date
    granularity: str
    buckets: list
    messages: MessageCounts
    channels: list
    purchases: Orders
    credited: Orders  # the purchases credited to a message
    flows: list
    popups: list
    sources: list  # (source, new contacts), most first
    holdouts: list

    @property
    def new_contacts(self):
        return sum(count for _source, count in self.sources)

    @property
    def recovered_carts(self):
        """Carts whose order is credited to a cart-recovery flow's message."""
        return sum(credit.carts for credit in self.flows if credit.kind == FlowKind.CART_RECOVERY)

    @property
    def cost_per_order(self):
        """What the period's messages cost per order credited to a message."""
        return _per_order(self.messages.cost, self.credited.count)


def marketing_results(start, end, granularity="day"):
    """The figures from ``start`` to ``end`` (dates, both included, in the current time
    zone), the trend in buckets of a ``granularity`` ("day" or "week")."""
    zone = timezone.get_current_timezone()
    since, until = day_bounds(start, end, zone)
    trunc = GRANULARITIES[granularity]

    def bucket_of(field_name):
        return trunc(field_name, tzinfo=zone)

    buckets = {first: Bucket(start=first) for first in bucket_starts(start, end, granularity)}

    def bucket(moment):
        return buckets[local_day(moment, zone)]

    # Messages: sent in the period, then what became of them; the days the daily rollup
    # holds fresh are read from it, the others (today, days it lacks) live.
    totals, channels = MessageCounts(), {}

    def count_messages(day, values):
        channel, cost = values.pop("channel"), values.pop("cost", None)
        currency = values.pop("cost_currency")
        per_channel = channels.setdefault(channel, ChannelFigures(channel)).messages
        for counts in (totals, per_channel, buckets[bucket_start(day, granularity)].messages):
            counts.add(values)
            if cost is not None:
                _add_money(counts.cost, currency, cost)

    covered = summarized_days(start, end, zone)
    if covered:
        summarized = MessageDay.objects.filter(day__range=(start, end))
        for values in summarized.values("day", "channel", "cost_currency", *COUNTS, "cost"):
            if values["day"] in covered:
                count_messages(values.pop("day"), values)
    live = live_periods(start, end, covered, zone)
    if live:
        for values in message_counts(sent_in(live), bucket_of("sent_at")):
            count_messages(local_day(values.pop("bucket"), zone), values)
        for values in event_counts(events_of_sent_in(live), bucket_of("message__sent_at")):
            count_messages(local_day(values.pop("bucket"), zone), values)

    # Orders: placed in the period, with their stored credit.
    purchases = TrackedOrder.objects.filter(
        is_purchase=True, placed_at__gte=since, placed_at__lt=until
    )
    all_purchases, credited = Orders(), Orders()
    for values in purchase_counts(purchases, bucket_of("placed_at")):
        day, currency = bucket(values["bucket"]), values["currency"]
        for orders in (all_purchases, day.purchases):
            orders.add(currency, values["orders"], values["revenue"])
        if values["credited_orders"]:
            for orders in (credited, day.credited):
                orders.add(currency, values["credited_orders"], values["credited_revenue"])
    for values in credited_to(purchases.exclude(attributed_channel=""), "attributed_channel"):
        channel = channels.setdefault(values["key"], ChannelFigures(values["key"]))
        channel.orders.add(values["currency"], values["orders"], values["revenue"])
    flows = credits(
        credited_to(
            purchases.filter(attributed_flow__isnull=False),
            "attributed_flow",
            name="attributed_flow__name",
            kind="attributed_flow__kind",
        )
    )
    popups = credits(
        credited_to(
            purchases.filter(attributed_popup__isnull=False),
            "attributed_popup",
            name="attributed_popup__name",
        )
    )

    # List growth, and the holdouts of the enrollments triggered in the period.
    sources = {}
    joined = Contact.objects.filter(created_at__gte=since, created_at__lt=until)
    for values in new_contacts(joined, bucket_of("created_at")):
        bucket(values["bucket"]).new_contacts += values["contacts"]
        sources[values["source"]] = sources.get(values["source"], 0) + values["contacts"]

    triggered = Enrollment.objects.filter(triggered_at__gte=since, triggered_at__lt=until)
    holdouts = [
        Holdout(
            flow=values["flow__name"],
            **{name: values[name] for name in HOLDOUT_COUNTS},
        )
        for values in holdout_counts_per_flow(triggered.filter(flow__holdout_percent__gt=0))
        if values["held_out"]
    ]
    return Results(
        start=start,
        end=end,
        granularity=granularity,
        buckets=list(buckets.values()),
        messages=totals,
        channels=sorted(channels.values(), key=lambda channel: channel.channel),
        purchases=all_purchases,
        credited=credited,
        flows=flows,
        popups=popups,
        sources=sorted(sources.items(), key=lambda item: (-item[1], item[0])),
        holdouts=holdouts,
    )


def bucket_start(day, granularity):
    """The first day of ``day``'s bucket: itself, or the Monday of its week (as
    ``TruncWeek`` gives it)."""
    return day - timedelta(days=day.weekday()) if granularity == "week" else day


def bucket_starts(start, end, granularity):
    """The first day of every bucket from ``start`` to ``end``, the first and last weeks
    maybe partial."""
    first = bucket_start(start, granularity)
    step = timedelta(days=7 if granularity == "week" else 1)
    starts = []
    while first <= end:
        starts.append(first)
        first += step
    return starts


def local_day(moment, zone):
    return timezone.localtime(moment, zone).date()


def day_bounds(first, last, zone):
    """The instants from the start of ``first`` to the end of ``last`` in ``zone``."""
    since = datetime.combine(first, time.min, tzinfo=zone)
    return since, datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)


def summarized_days(start, end, zone):
    """The days from ``start`` to ``end`` whose rollup rows are complete for ``zone``:
    rebuilt in that zone after the day ended, so no message can still be sent that day."""
    return {
        summary.day
        for summary in SummarizedDay.objects.filter(day__range=(start, end), time_zone=str(zone))
        if summary.built_at >= day_bounds(summary.day, summary.day, zone)[1]
    }


def live_periods(start, end, covered, zone):
    """The days from ``start`` to ``end`` not in ``covered``, as (since, until) instants,
    one pair per run of consecutive days (usually one: today)."""
    periods, first, day = [], None, start
    while day <= end + timedelta(days=1):
        if day <= end and day not in covered:
            first = first or day
        elif first:
            periods.append(day_bounds(first, day - timedelta(days=1), zone))
            first = None
        day += timedelta(days=1)
    return periods


def sent_in(periods):
    """Messages sent in any of ``periods``."""
    return Message.objects.filter(
        reduce(or_, (Q(sent_at__gte=since, sent_at__lt=until) for since, until in periods))
    )


def events_of_sent_in(periods):
    """The tracked events of the messages sent in any of ``periods``."""
    # A message's events come after its send: the bound lets the events' time index
    # (``omnichannel_event_time``) skip the older ones (a day of margin for clocks).
    sent = (Q(message__sent_at__gte=since, message__sent_at__lt=until) for since, until in periods)
    return DeliveryEvent.objects.filter(
        reduce(or_, sent),
        occurred_at__gte=periods[0][0] - timedelta(days=1),
        kind__in=TRACKED_EVENTS,
    )


# --- the queries -------------------------------------------------------------------------


def message_counts(sent, bucket):
    """Sent and delivered messages and their known cost per bucket, channel and cost
    currency."""
    return (
        sent.annotate(bucket=bucket)
        .values("bucket", "channel", "cost_currency")
        .annotate(
            # Columns of the index ``omnichannel_msg_sent_at`` only (not even the id), so
            # PostgreSQL answers from the index; a count of a column skips its NULLs.
            sent=Count("*"),
            delivered=Count("delivered_at"),
            cost=Sum("cost"),
        )
        .order_by()
    )


def event_counts(events, bucket):
    """Messages with each fate per bucket, channel and cost currency of the message; a
    message opened twice (or clicked twice) counts once."""

    def messages_with(condition):
        return Count("message", distinct=True, filter=condition)

    return (
        events.annotate(
            bucket=bucket, channel=F("message__channel"), cost_currency=F("message__cost_currency")
        )
        .values("bucket", "channel", "cost_currency")
        .annotate(
            opened=messages_with(Q(kind__in=OPENS)),
            opened_by_people=messages_with(Q(kind__in=OPENS, machine=False)),
            clicked=messages_with(Q(kind=DeliveryEventKind.CLICKED)),
            unsubscribed=messages_with(Q(kind=DeliveryEventKind.UNSUBSCRIBED)),
            bounced=messages_with(Q(kind=DeliveryEventKind.BOUNCED)),
        )
        .order_by()
    )


def purchase_counts(purchases, bucket):
    """Purchases and revenue per bucket and currency, all and credited to a message."""
    credited = ~Q(attributed_by="")
    return (
        purchases.annotate(bucket=bucket)
        .values("bucket", "currency")
        .annotate(
            orders=Count("pk"),
            revenue=Sum("total"),
            credited_orders=Count("pk", filter=credited),
            credited_revenue=Sum("total", filter=credited, default=ZERO),
        )
        .order_by()
    )


def credited_to(purchases, key, **labels):
    """Credited purchases per ``key`` (a stored credit) and currency, with ``labels``
    (names of the credited object, read through the same join)."""
    return (
        purchases.values("currency", key=F(key), **{name: F(path) for name, path in labels.items()})
        .annotate(orders=Count("pk"), revenue=Sum("total"), carts=Count("cart", distinct=True))
        .order_by()
    )


def credits(rows):
    """``credited_to`` rows as one ``Credit`` per flow or popup, most orders first."""
    by_key = {}
    for values in rows:
        credit = by_key.setdefault(
            values["key"], Credit(name=values["name"] or "", kind=values.get("kind") or "")
        )
        credit.orders.add(values["currency"], values["orders"], values["revenue"])
        credit.carts += values["carts"]
    return sorted(by_key.values(), key=lambda credit: (-credit.orders.count, credit.name))


def new_contacts(joined, bucket):
    return (
        joined.annotate(bucket=bucket)
        .values("bucket", "source")
        .annotate(contacts=Count("pk"))
        .order_by()
    )
