"""Recording the shop's orders, and when their buyers count as lapsed (win-back)."""

import statistics
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..conf import omnichannel_settings
from ..models import CartSnapshot, TrackedOrder
from ..models.carts import CartStatus
from .attribution import attribute, clear
from .carts import convert_cart


def counts_as_purchase(status):
    statuses = omnichannel_settings.PURCHASE_ORDER_STATUSES
    return statuses is None or status in statuses


def record_order(data, contact):
    """Upsert the ``TrackedOrder`` for ``data`` (an ``OrderData``); returns it.

    The first report that counts as a purchase converts the order's cart; a later status
    change (paid after a bank transfer) does the same then, and credits the order to a
    message and a popup (``attribution``) once: an order that stops being a purchase loses
    its credit. Whether the order counts as a purchase moves the buyer's lapse
    (``schedule_lapse``). The ``order_tracked`` signal
    says which status the order had before (``previous_status``, '' for a new order).
    """
    is_purchase = counts_as_purchase(data.status)
    with transaction.atomic():
        order = TrackedOrder.objects.select_for_update().filter(order_key=data.order_key).first()
        created = order is None
        was_purchase = bool(order and order.is_purchase)
        previous_status = "" if created else order.status
        if created:
            order = TrackedOrder(
                order_key=data.order_key, placed_at=data.placed_at or timezone.now()
            )
        order.status = data.status
        order.is_purchase = is_purchase
        order.total = data.total
        order.currency = data.currency or omnichannel_settings.DEFAULT_CURRENCY
        order.contact = contact or order.contact
        if data.lines:
            order.lines = [line.as_json() for line in data.lines]
        if data.cart_key and order.cart_id is None:
            order.cart = CartSnapshot.objects.filter(cart_key=data.cart_key).first()
        became_purchase = is_purchase and not was_purchase
        recovered = False
        if became_purchase and data.cart_key:
            recovered = convert_cart(data.cart_key, when=order.placed_at) == CartStatus.RECOVERED
        order.save()
        if became_purchase:
            attribute(order)
        elif was_purchase and not is_purchase:
            clear(order)
        if order.contact_id and is_purchase != was_purchase:
            schedule_lapse(order.contact_id)
    transaction.on_commit(
        lambda: signals.order_tracked.send(
            sender=TrackedOrder,
            order=order,
            created=created,
            became_purchase=became_purchase,
            previous_status=previous_status,
        )
    )
    if recovered and order.cart_id:
        transaction.on_commit(
            lambda: signals.cart_recovered.send(
                sender=CartSnapshot, cart=CartSnapshot.objects.get(pk=order.cart_id), order=order
            )
        )
    return order


def lapse_after(placed):
    """How long after the last of ``placed`` (purchase times, oldest first) the buyer is
    lapsed: ``WINBACK_AFTER_DAYS``, or ``WINBACK_INTERVAL_MULTIPLE`` times their median
    interval between purchases when they have ``WINBACK_MIN_ORDERS`` and that is longer
    (someone who buys twice a year is not lapsed after three months)."""
    settings = omnichannel_settings
    after = timedelta(days=settings.WINBACK_AFTER_DAYS)
    if len(placed) < settings.WINBACK_MIN_ORDERS:
        return after
    median = statistics.median(b - a for a, b in zip(placed, placed[1:], strict=False))
    return max(after, median * settings.WINBACK_INTERVAL_MULTIPLE)


def schedule_lapse(contact_id):
    """Put the contact's lapse on their newest purchase, and take it off every other order.

    Three queries, when a purchase is recorded (or stops being one): the win-back sweep then
    only reads due ``lapses_at`` values through their partial index.
    """
    purchases = list(
        TrackedOrder.objects.filter(contact_id=contact_id, is_purchase=True)
        .order_by("placed_at", "pk")
        .values_list("pk", "placed_at")
    )
    orders = TrackedOrder.objects.filter(contact_id=contact_id)
    if not purchases:
        return orders.filter(lapses_at__isnull=False).update(lapses_at=None)
    newest, last_at = purchases[-1]
    orders.filter(lapses_at__isnull=False).exclude(pk=newest).update(lapses_at=None)
    lapses_at = last_at + lapse_after([placed for _pk, placed in purchases])
    return orders.filter(pk=newest).update(lapses_at=lapses_at)
