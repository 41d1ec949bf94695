"""Deleting old history on a schedule (the ``RETENTION_DAYS`` setting).

Each kind of history is deleted in batches of ``RETENTION_BATCH_SIZE`` rows, one short
transaction each, walking the primary key: a first run on years of data takes a while but
never holds locks that would stall the dispatcher or the shop.

What goes with the rows (the README lists it for staff):

* ``cart_snapshots``: the carts behind abandonment and recovery rates of that period;
  orders keep their totals (their link to the cart is cleared).
* ``delivery_events``: opens, clicks and provider events, so open and click rates of
  those messages; the messages keep their status and sent / delivered / read times.
* ``popup_events``: impressions, closes and submissions, so popup conversion figures of
  that period; signups and the contacts they brought stay.
* ``inbound_messages``: SMS / WhatsApp replies; consent and suppressions they caused stay.
* ``messages`` (kept by default): messages in a final state, with their events, so counts,
  costs and attribution of that period. Queued or sending messages are never deleted.

The consent ledger is never purged here: it proves consents that are still in force.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from ...conf import omnichannel_settings
from ...models import (
    CartSnapshot,
    DeliveryEvent,
    InboundMessage,
    Message,
    PopupEvent,
    ProductEvent,
    ProductView,
)
from ...models.messages import FINAL_STATUSES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    model: type
    date_field: str
    only: Q = Q()


TARGETS = {
    "cart_snapshots": Target(CartSnapshot, "last_activity_at"),
    "delivery_events": Target(DeliveryEvent, "occurred_at"),
    "popup_events": Target(PopupEvent, "created_at"),
    "inbound_messages": Target(InboundMessage, "received_at"),
    "messages": Target(Message, "created_at", Q(status__in=FINAL_STATUSES)),
    "product_views": Target(ProductView, "last_viewed_at"),
    "product_events": Target(ProductEvent, "happened_at", Q(processed_at__isnull=False)),
}


def retention_days():
    """``RETENTION_DAYS`` over its defaults (checked by ``omnichannel.conf``: a bad value
    raises ImproperlyConfigured)."""
    return omnichannel_settings.RETENTION_DAYS


def purge_old_data(now=None, dry_run=False):
    """Delete what is older than its retention; returns ``{key: rows}`` (None: kept).

    With ``dry_run`` nothing is deleted and the counts are what would be.
    """
    now = now or timezone.now()
    batch_size = omnichannel_settings.RETENTION_BATCH_SIZE  # 1 to 1000, checked by conf
    report = {}
    for key, days in retention_days().items():
        if days is None:
            report[key] = None
            continue
        target = TARGETS[key]
        old = target.model.objects.filter(
            target.only, **{f"{target.date_field}__lt": now - timedelta(days=days)}
        )
        report[key] = old.count() if dry_run else delete_in_batches(old, batch_size)
        if report[key] and not dry_run:
            logger.info("omnichannel: purged %d %s older than %d days", report[key], key, days)
    return report


def delete_in_batches(queryset, batch_size):
    """Delete ``queryset`` ``batch_size`` rows at a time, in primary key order."""
    deleted, last = 0, None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        queryset.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        last = ids[-1]
