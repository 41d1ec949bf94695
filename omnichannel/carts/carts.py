"""Writing cart snapshots: one cheap statement per cart change."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .. import signals
from ..conf import omnichannel_settings
from ..models import CartSnapshot, Contact, Message
from ..models.carts import CartStatus
from ..models.messages import MessageStatus

# A cart in one of these states is history: later changes under its key are ignored.
FINAL_STATUSES = (CartStatus.CONVERTED, CartStatus.RECOVERED)


def idle_time():
    """How long a cart must sit untouched to count as abandoned."""
    return timedelta(minutes=omnichannel_settings.CART_IDLE_MINUTES)


def live_contact_id(*, contact_id=None, user_id=None):
    """The pk of the contact to attach, checked to exist (one query), or None.

    A session can outlive its contact (merged into another, erased), so the id it holds is
    verified rather than trusted.
    """
    if contact_id is None and user_id is None:
        return None
    query = Q(pk=contact_id) if contact_id is not None else Q(user_id=user_id)
    return Contact.objects.filter(query).values_list("pk", flat=True).first()


def upsert_snapshot(*, cart_key, lines, value, currency, visitor_id=None, contact_id=None):
    """Write the cart's current state: an UPDATE, or an INSERT the first time.

    The contact is only ever set, never cleared: a cart seen later without a known contact
    keeps the one it had.
    """
    now = timezone.now()
    fields = {
        "lines": [line.as_json() for line in lines],
        "item_count": sum(line.quantity for line in lines),
        "value": value,
        "currency": currency,
        "last_activity_at": now,
        "status": CartStatus.OPEN,
    }
    if contact_id is not None:
        fields["contact_id"] = contact_id
    if visitor_id is not None:
        fields["visitor_id"] = visitor_id
    updated = (
        CartSnapshot.objects.filter(cart_key=cart_key)
        .exclude(status__in=FINAL_STATUSES)
        .update(**fields)
    )
    if not updated:
        # Either new, or converted already (then the conflict leaves it untouched).
        CartSnapshot.objects.bulk_create(
            [CartSnapshot(cart_key=cart_key, **fields)], ignore_conflicts=True
        )
    signals.cart_tracked.send(sender=CartSnapshot, cart_key=cart_key, contact_id=contact_id)


def attach_visitor_carts(visitor_id, contact):
    """Give the visitor's anonymous carts to the contact they turned out to be."""
    if visitor_id is None:
        return 0
    return CartSnapshot.objects.filter(visitor_id=visitor_id, contact__isnull=True).update(
        contact=contact
    )


def convert_cart(cart_key, when=None):
    """Mark the cart ordered (idempotent); returns whether it changed.

    A cart whose recovery flow had sent a message before the order is *recovered*; any
    other is *converted*. Which message (or click) earned the order is the analytics'
    question; this status only says a reminder was out.
    """
    carts = CartSnapshot.objects.filter(cart_key=cart_key).exclude(status__in=FINAL_STATUSES)
    reminded = Message.objects.filter(
        enrollment__cart__cart_key=cart_key,
        status__in=(MessageStatus.SENT, MessageStatus.DELIVERED),
    ).exists()
    status = CartStatus.RECOVERED if reminded else CartStatus.CONVERTED
    return bool(carts.update(status=status, converted_at=when or timezone.now()))


EXPIRY_BATCH_SIZE = 500


def expire_stale_carts(now=None):
    """Expire carts idle for ``CART_EXPIRY_DAYS``, in batches; returns how many.

    Batches keep each UPDATE short, so the sweep never holds locks that the shop's
    add-to-cart would wait on.
    """
    cutoff = (now or timezone.now()) - timedelta(days=omnichannel_settings.CART_EXPIRY_DAYS)
    stale = CartSnapshot.objects.filter(
        status__in=(CartStatus.OPEN, CartStatus.ABANDONED), last_activity_at__lt=cutoff
    )
    expired = 0
    while batch := list(stale.values_list("pk", flat=True)[:EXPIRY_BATCH_SIZE]):
        expired += CartSnapshot.objects.filter(pk__in=batch).update(status=CartStatus.EXPIRED)
    return expired
