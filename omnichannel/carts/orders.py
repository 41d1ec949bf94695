"""Recording the shop's orders."""

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..conf import omnichannel_settings
from ..models import CartSnapshot, TrackedOrder
from ..models.carts import CartStatus
from .carts import convert_cart


def counts_as_purchase(status):
    statuses = omnichannel_settings.PURCHASE_ORDER_STATUSES
    return statuses is None or status in statuses


def record_order(data, contact):
    """Upsert the ``TrackedOrder`` for ``data`` (an ``OrderData``); returns it.

    The first report that counts as a purchase converts the order's cart; a later status
    change (paid after a bank transfer) does the same then.
    """
    is_purchase = counts_as_purchase(data.status)
    with transaction.atomic():
        order = TrackedOrder.objects.select_for_update().filter(order_key=data.order_key).first()
        created = order is None
        was_purchase = bool(order and order.is_purchase)
        if created:
            order = TrackedOrder(
                order_key=data.order_key, placed_at=data.placed_at or timezone.now()
            )
        order.status = data.status
        order.is_purchase = is_purchase
        order.total = data.total
        order.currency = data.currency or omnichannel_settings.DEFAULT_CURRENCY
        order.contact = contact or order.contact
        if data.cart_key and order.cart_id is None:
            order.cart = CartSnapshot.objects.filter(cart_key=data.cart_key).first()
        became_purchase = is_purchase and not was_purchase
        recovered = False
        if became_purchase and data.cart_key:
            recovered = convert_cart(data.cart_key, when=order.placed_at) == CartStatus.RECOVERED
        order.save()
    transaction.on_commit(
        lambda: signals.order_tracked.send(
            sender=TrackedOrder, order=order, created=created, became_purchase=became_purchase
        )
    )
    if recovered and order.cart_id:
        transaction.on_commit(
            lambda: signals.cart_recovered.send(
                sender=CartSnapshot, cart=CartSnapshot.objects.get(pk=order.cart_id), order=order
            )
        )
    return order
