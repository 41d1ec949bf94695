"""One contact's history across channels, newest first, for support and marketing."""

from dataclasses import dataclass
from datetime import datetime
from heapq import merge
from itertools import islice

from django.utils.translation import gettext as _

from .models import CartSnapshot, ConsentEvent, InboundMessage, Message, TrackedOrder


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    text: str


def _message(m):
    return Entry(
        m.created_at,
        _("message"),
        f"{m.get_channel_display()} · {m.get_status_display()} · {m.source}",
    )


def _reply(i):
    return Entry(i.received_at, _("reply"), f"{i.get_channel_display()}: {i.body}")


def _consent(e):
    what = f"{e.get_channel_display()} {e.get_purpose_display()}: {e.get_status_display()}"
    return Entry(e.created_at, _("consent"), f"{what} ({e.source})")


def _cart(c):
    what = f"{c.item_count} items · {c.value} {c.currency} · {c.get_status_display()}"
    return Entry(c.last_activity_at, _("cart"), what)


def _order(o):
    return Entry(o.placed_at, _("order"), f"{o.order_key} · {o.total} {o.currency} · {o.status}")


# (model, time field, entry builder)
SOURCES = (
    (Message, "created_at", _message),
    (InboundMessage, "received_at", _reply),
    (ConsentEvent, "created_at", _consent),
    (CartSnapshot, "last_activity_at", _cart),
    (TrackedOrder, "placed_at", _order),
)


def contact_timeline(contact, limit=100):
    """The latest ``limit`` entries: messages, replies, consent changes, carts, orders.

    Each source is read newest first and capped at ``limit``, then merged: a bounded
    number of queries whatever the size of the history.
    """
    streams = [
        map(build, model.objects.filter(contact=contact).order_by(f"-{field}")[:limit])
        for model, field, build in SOURCES
    ]
    merged = merge(*streams, key=lambda entry: entry.at, reverse=True)
    return list(islice(merged, limit))
