"""One contact's history across every source, newest first, one page at a time.

Support and marketing read the same story on the contact: signups, popups, the products
they looked at, carts, orders,
flows, every message with what happened to it, opens and clicks, replies, consent changes.

A busy contact has thousands of rows spread over a dozen tables, so a page is read with
keyset pagination rather than offsets. A *source* is one model and one of its time columns;
each source is read newest first below the cursor, capped at the page size + 1, and the
sorted streams are merged (``heapq.merge``). A page therefore costs one query per source
(plus one for the delivery events of its messages) however long the history, and each
read is a range scan of a (contact, time) index: ``tests/bench/bench_timeline.py`` shows
the plans and the figures.

Entries at the same instant are ordered by source, then by primary key, so a cursor
(time, source, pk) names exactly one position: pages neither repeat nor skip an entry.

The app keeps only the last state of a cart, not each change. A cart is shown as the
moments that state still records: started, last changed (with its lines as they are now),
abandoned, ordered.

Entries hold plain text, customer text included: whoever renders them escapes them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import reduce
from heapq import merge
from itertools import islice

from django.db import models
from django.db.models import Prefetch, Q, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Left, NullIf
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..core.formatting import money
from ..models import (
    CartSnapshot,
    ConsentEvent,
    Contact,
    DeliveryEvent,
    Enrollment,
    InboundMessage,
    Message,
    PopupEvent,
    PopupSignup,
    ProductView,
    TrackedOrder,
)
from ..models.carts import CartStatus
from ..models.channels import Channel
from ..models.flows import EnrollmentState
from ..models.messages import DeliveryEventKind
from ..models.popups import PopupEventKind


class Kind(models.TextChoices):
    """What an entry is about; the admin filters on these."""

    SIGNUP = "signup", gettext_lazy("Signups")
    POPUP = "popup", gettext_lazy("Popups")
    VIEW = "view", gettext_lazy("Product views")
    CART = "cart", gettext_lazy("Carts")
    ORDER = "order", gettext_lazy("Orders")
    FLOW = "flow", gettext_lazy("Flows")
    MESSAGE = "message", gettext_lazy("Messages")
    OPEN = "open", gettext_lazy("Opens")
    CLICK = "click", gettext_lazy("Clicks")
    REPLY = "reply", gettext_lazy("Replies")
    CONSENT = "consent", gettext_lazy("Consent changes")


@dataclass(frozen=True)
class Cursor:
    """The position of an entry; a page continues strictly after it."""

    at: datetime
    source: str
    pk: int

    EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

    def __str__(self):
        # Whole microseconds: exact, unlike a float timestamp, and URL-safe.
        return f"{(self.at - self.EPOCH) // timedelta(microseconds=1)}.{self.source}.{self.pk}"

    @classmethod
    def parse(cls, text):
        """The cursor ``str()`` wrote; raises ``ValueError`` for anything else."""
        try:
            micros, source, pk = text.split(".")
            cursor = cls(cls.EPOCH + timedelta(microseconds=int(micros)), source, int(pk))
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"not a timeline cursor: {text!r}") from exc
        if source not in RANKS:
            raise ValueError(f"unknown timeline source: {source!r}")
        return cursor


@dataclass(frozen=True)
class Entry:
    """One line of the timeline. Its texts are plain: the template escapes them."""

    at: datetime
    kind: str
    title: str
    detail: str = ""
    channel: str = ""
    # The object the entry is about, for a link to its admin page.
    obj: models.Model | None = None
    # A message's delivery events, oldest first.
    events: tuple = ()
    source: str = ""
    pk: int = 0

    @property
    def cursor(self):
        return Cursor(self.at, self.source, self.pk)

    @property
    def channel_label(self):
        return Channel(self.channel).label if self.channel else ""


@dataclass(frozen=True)
class Page:
    entries: list
    # Where the next (older) page starts; None on the last page.
    next_cursor: Cursor | None


@dataclass(frozen=True)
class Source:
    """One model and one of its time columns, and how its rows read as entries."""

    key: str
    kind: str
    # The queryset to read, with its joins and deferred columns.
    rows: Callable[[], models.QuerySet]
    time_field: str
    # A row's Entry fields: title, and optionally detail, obj, events.
    describe: Callable[[models.Model], dict]
    contact_field: str = "contact"
    # The lookup of the row's channel; a source without one is left out of channel filters.
    channel_field: str = ""
    condition: Q = field(default_factory=Q)

    def read(self, contact, *, before, channels, since, until, limit):
        """Up to ``limit`` rows, newest first, after ``before`` and inside the filters."""
        at = self.time_field
        rows = self.rows().filter(
            self.condition, **{self.contact_field: contact.pk, f"{at}__isnull": False}
        )
        if channels:
            rows = rows.filter(**{f"{self.channel_field}__in": channels})
        if since is not None:
            rows = rows.filter(**{f"{at}__gte": since})
        if until is not None:
            rows = rows.filter(**{f"{at}__lt": until})
        if before is not None:
            rows = self._after(rows, before)
        return rows.order_by(f"-{at}", "-pk")[:limit]

    def _after(self, rows, cursor):
        # Entries sort by (time, source rank, pk), newest first: see ``positions``.
        at, rank, cursor_rank = self.time_field, RANKS[self.key], RANKS[cursor.source]
        if rank > cursor_rank:
            return rows.filter(**{f"{at}__lt": cursor.at})
        rows = rows.filter(**{f"{at}__lte": cursor.at})
        if rank == cursor_rank:
            rows = rows.exclude(**{at: cursor.at, "pk__gte": cursor.pk})
        return rows

    def positions(self, rows):
        """``(position, self, row)`` for each row: positions sort like the entries."""
        rank = RANKS[self.key]
        for row in rows:
            yield (getattr(row, self.time_field), rank, row.pk), self, row

    def entry(self, row):
        channel = reduce(getattr, self.channel_field.split("__"), row) if self.channel_field else ""
        return Entry(
            at=getattr(row, self.time_field),
            kind=self.kind,
            channel=channel,
            source=self.key,
            pk=row.pk,
            **self.describe(row),
        )


# --- what each source says ---------------------------------------------------------------

# Message.rendered keeps the whole HTML that was sent; the timeline needs one line of it.
HEADLINE_PARTS = ("subject", "title", "text", "body")


def headline(rendered):
    """The first non-empty rendered subject, title, text or body, cut in SQL.

    ``rendered`` is the lookup of a ``Message.rendered`` column; reading the line in the
    database keeps the sent HTML (tens of kilobytes a message) out of the page.
    """
    parts = [NullIf(KeyTextTransform(part, rendered), Value("")) for part in HEADLINE_PARTS]
    return Left(Coalesce(*parts), 200)


def message_title(message, text):
    if text:
        return Truncator(" ".join(text.split())).chars(80)
    return _("%(channel)s message (not rendered yet)") % {"channel": message.get_channel_display()}


def join(*parts):
    return " · ".join(str(part) for part in parts if part)


def describe_signup(contact):
    return {"title": _("Signed up in the shop")}


POPUP_TITLES = {
    PopupEventKind.IMPRESSION: gettext_lazy("Saw popup “%(popup)s”"),
    PopupEventKind.CLOSE: gettext_lazy("Closed popup “%(popup)s”"),
    PopupEventKind.SUBMIT: gettext_lazy("Submitted popup “%(popup)s”"),
}


def describe_popup_event(event):
    return {
        "title": POPUP_TITLES[event.kind] % {"popup": event.popup.name},
        "detail": _("variant %(variant)s") % {"variant": event.variant.name},
        "obj": event.popup,
    }


def describe_popup_signup(signup):
    return {
        "title": _("Subscribed through popup “%(popup)s”") % {"popup": signup.popup.name},
        "detail": join(
            signup.double_opt_in and _("double opt-in confirmed"),
            signup.discount_code and _("code %(code)s") % {"code": signup.discount_code},
        ),
        "obj": signup,
    }


def cart_size(cart):
    count = ngettext("%(n)s item", "%(n)s items", cart.item_count) % {"n": cart.item_count}
    return f"{count}, {money(cart.value, cart.currency)}"


def describe_product_view(view):
    # One row per product: its latest view, and since when they come back to it.
    again = view.first_viewed_at < view.last_viewed_at
    return {
        "title": _("Viewed “%(product)s”") % {"product": view.name},
        "detail": join(
            view.price is not None and view.price,
            again and _("first viewed %(date)s") % {"date": view.first_viewed_at.date()},
        ),
        "obj": view,
    }


def describe_cart_started(cart):
    return {"title": _("Started a cart"), "obj": cart}


def describe_cart_changed(cart):
    lines = ", ".join(f"{line.get('quantity', '')} × {line.get('name', '')}" for line in cart.lines)
    return {
        "title": _("Cart changed: %(size)s") % {"size": cart_size(cart)},
        "detail": join(lines, _("now %(status)s") % {"status": cart.get_status_display()}),
        "obj": cart,
    }


def describe_cart_abandoned(cart):
    return {"title": _("Abandoned a cart"), "detail": cart_size(cart), "obj": cart}


def describe_cart_ordered(cart):
    recovered = cart.status == CartStatus.RECOVERED
    title = _("Ordered the cart after a reminder") if recovered else _("Ordered the cart")
    return {"title": title, "detail": cart_size(cart), "obj": cart}


def describe_order(order):
    return {
        "title": _("Order %(key)s: %(total)s")
        % {"key": order.order_key, "total": money(order.total, order.currency)},
        "detail": join(order.status, not order.is_purchase and _("not (yet) a purchase")),
        "obj": order,
    }


def describe_flow_entered(enrollment):
    waiting = enrollment.state == EnrollmentState.ACTIVE
    return {
        "title": _("Entered flow “%(flow)s”") % {"flow": enrollment.flow.name},
        "detail": join(
            enrollment.get_state_display(),
            waiting
            and enrollment.next_step
            and _("next: step %(n)s") % {"n": enrollment.next_step.position + 1},
        ),
        "obj": enrollment,
    }


def describe_flow_left(enrollment):
    return {
        "title": _("Left flow “%(flow)s”") % {"flow": enrollment.flow.name},
        "detail": join(enrollment.get_state_display(), enrollment.exit_reason),
        "obj": enrollment,
    }


def describe_message(message):
    step = message.step
    return {
        "title": message_title(message, message.headline),
        "detail": join(
            message.get_status_display(),
            step
            and _("flow “%(flow)s”, step %(n)s: %(step)s")
            % {"flow": step.flow.name, "n": step.position + 1, "step": step.name},
            not step and message.source,
        ),
        "obj": message,
        "events": tuple(message.events.all()),
    }


def describe_click(event):
    title = message_title(event.message, event.headline)
    return {
        "title": _("Clicked in “%(message)s”") % {"message": title},
        "detail": event.detail,
        "obj": event.message,
    }


def describe_open(event):
    title = message_title(event.message, event.headline)
    return {
        "title": _("%(event)s “%(message)s”")
        % {"event": event.get_kind_display(), "message": title},
        "obj": event.message,
    }


def describe_reply(inbound):
    return {
        "title": _("Replied: %(text)s") % {"text": Truncator(inbound.body).chars(80)},
        "detail": inbound.keyword,
        "obj": inbound,
    }


def describe_consent(event):
    return {
        "title": f"{event.get_purpose_display()}: {event.get_status_display()}",
        "detail": join(
            event.wording and f"“{event.wording}”",
            event.source and _("source: %(source)s") % {"source": event.source},
        ),
        "obj": event,
    }


# --- the sources; of two entries at the same instant, the later source's comes first -----


# Messages are wide rows (content, context, the rendered HTML, provider fields): reading
# only the columns the entries show roughly halves the cost of their sources.
MESSAGE_FIELDS = ("contact", "channel", "status", "source", "created_at", "step")
EVENT_FIELDS = ("message", "kind", "detail", "occurred_at")


def messages():
    events = Prefetch("events", DeliveryEvent.objects.only(*EVENT_FIELDS))
    return (
        Message.objects.select_related("step__flow")
        .only(*MESSAGE_FIELDS, "step__name", "step__position", "step__flow__name")
        .prefetch_related(events)
        .annotate(headline=headline("rendered"))
    )


def delivery_events():
    return (
        DeliveryEvent.objects.select_related("message")
        .only(*EVENT_FIELDS, *(f"message__{name}" for name in MESSAGE_FIELDS))
        .annotate(headline=headline("message__rendered"))
    )


def enrollments():
    return Enrollment.objects.select_related("flow", "next_step")


ON_MESSAGE = {"contact_field": "message__contact", "channel_field": "message__channel"}

SOURCES = (
    Source(
        "signup",
        Kind.SIGNUP,
        Contact.objects.all,
        "signed_up_at",
        describe_signup,
        contact_field="pk",
    ),
    Source(
        "popup_event",
        Kind.POPUP,
        lambda: PopupEvent.objects.select_related("popup", "variant"),
        "created_at",
        describe_popup_event,
    ),
    Source(
        "popup_signup",
        Kind.SIGNUP,
        lambda: PopupSignup.objects.select_related("popup"),
        "completed_at",
        describe_popup_signup,
    ),
    Source(
        "product_view", Kind.VIEW, ProductView.objects.all, "last_viewed_at", describe_product_view
    ),
    Source(
        "cart_started", Kind.CART, CartSnapshot.objects.all, "created_at", describe_cart_started
    ),
    Source(
        "cart_changed",
        Kind.CART,
        CartSnapshot.objects.all,
        "last_activity_at",
        describe_cart_changed,
    ),
    Source(
        "cart_abandoned",
        Kind.CART,
        CartSnapshot.objects.all,
        "abandoned_at",
        describe_cart_abandoned,
    ),
    Source(
        "cart_ordered", Kind.CART, CartSnapshot.objects.all, "converted_at", describe_cart_ordered
    ),
    Source("order", Kind.ORDER, TrackedOrder.objects.all, "placed_at", describe_order),
    Source("flow_entered", Kind.FLOW, enrollments, "triggered_at", describe_flow_entered),
    Source("flow_left", Kind.FLOW, enrollments, "ended_at", describe_flow_left),
    Source(
        "message", Kind.MESSAGE, messages, "created_at", describe_message, channel_field="channel"
    ),
    Source(
        "open",
        Kind.OPEN,
        delivery_events,
        "occurred_at",
        describe_open,
        condition=Q(kind__in=(DeliveryEventKind.OPENED, DeliveryEventKind.READ)),
        **ON_MESSAGE,
    ),
    Source(
        "click",
        Kind.CLICK,
        delivery_events,
        "occurred_at",
        describe_click,
        condition=Q(kind=DeliveryEventKind.CLICKED),
        **ON_MESSAGE,
    ),
    Source(
        "reply",
        Kind.REPLY,
        InboundMessage.objects.all,
        "received_at",
        describe_reply,
        channel_field="channel",
    ),
    Source(
        "consent",
        Kind.CONSENT,
        ConsentEvent.objects.all,
        "created_at",
        describe_consent,
        channel_field="channel",
    ),
)
RANKS = {source.key: rank for rank, source in enumerate(SOURCES)}


def contact_timeline(
    contact, *, limit=50, before=None, channels=(), kinds=(), since=None, until=None
):
    """A page of ``contact``'s timeline: up to ``limit`` entries, newest first.

    ``before`` is the ``next_cursor`` of the previous page. ``channels`` and ``kinds``
    narrow the entries (a channel filter leaves out the sources that have no channel:
    carts, orders, flows, popups, signups); ``since`` (inclusive) and ``until``
    (exclusive) bound their time.
    """
    filters = {"before": before, "channels": channels, "since": since, "until": until}
    streams = [
        source.positions(source.read(contact, limit=limit + 1, **filters))
        for source in SOURCES
        if (not kinds or source.kind in kinds) and (not channels or source.channel_field)
    ]
    # Rows are only described once they made the page: most of what is read does not.
    merged = list(islice(merge(*streams, reverse=True), limit + 1))
    entries = [source.entry(row) for _position, source, row in merged[:limit]]
    return Page(entries, entries[-1].cursor if len(merged) > limit else None)
