"""Writing cart snapshots: one cheap statement per cart change."""

from datetime import timedelta

from django.db import IntegrityError, transaction
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


def upsert_snapshot(
    *, cart_key, lines, value, currency, visitor_id=None, contact_id=None, checkout=False
):
    """Write the cart's current state: an UPDATE, or an INSERT the first time.

    The contact is only ever set, never cleared: a cart seen later without a known contact
    keeps the one it had. ``checkout`` says the customer started checkout with this cart
    (the shop holds an email for it): only such carts get transactional reminders. A
    currency the shop does not know (None, '') is ``DEFAULT_CURRENCY``.
    """
    now = timezone.now()
    fields = {
        "lines": [line.as_json() for line in lines],
        "item_count": sum(line.quantity for line in lines),
        "value": value,
        "currency": currency or omnichannel_settings.DEFAULT_CURRENCY,
        "last_activity_at": now,
        "status": CartStatus.OPEN,
    }
    if contact_id is not None:
        fields["contact_id"] = contact_id
    if visitor_id is not None:
        fields["visitor_id"] = visitor_id
    open_rows = CartSnapshot.objects.filter(cart_key=cart_key).exclude(status__in=FINAL_STATUSES)
    if checkout:
        # Kept from the first time only, without overwriting on every later change.
        open_rows.filter(checkout_started_at__isnull=True).update(checkout_started_at=now)
        fields.setdefault("checkout_started_at", now)
    changes = {k: v for k, v in fields.items() if k != "checkout_started_at"}
    if not open_rows.update(**changes) and not insert_snapshot(cart_key, fields):
        open_rows.update(**changes)  # another request inserted it first: the later state wins
    signals.cart_tracked.send(sender=CartSnapshot, cart_key=cart_key, contact_id=contact_id)


def insert_snapshot(cart_key, fields):
    """INSERT the cart's first snapshot; returns False when a row has the key already.

    The savepoint keeps a lost race or a converted cart from aborting the shop's
    transaction; any other integrity error (a NOT NULL column, say) is raised, not hidden.
    """
    try:
        with transaction.atomic():
            CartSnapshot.objects.create(cart_key=cart_key, **fields)
    except IntegrityError:
        if not CartSnapshot.objects.filter(cart_key=cart_key).exists():
            raise
        return False
    return True


def mark_checkout_started(cart_key, when=None):
    """Record that the customer started checkout with the cart (kept from the first time).

    For shop integrations that learn of the checkout separately from the cart's changes
    (django-oscar's ``start_checkout`` signal); returns whether a snapshot changed.
    """
    return bool(
        CartSnapshot.objects.filter(cart_key=cart_key, checkout_started_at__isnull=True)
        .exclude(status__in=FINAL_STATUSES)
        .update(checkout_started_at=when or timezone.now())
    )


def attach_visitor_carts(visitor_id, contact):
    """Give the visitor's anonymous carts to the contact they turned out to be."""
    if visitor_id is None:
        return 0
    return CartSnapshot.objects.filter(visitor_id=visitor_id, contact__isnull=True).update(
        contact=contact
    )


def convert_cart(cart_key, when=None):
    """Mark the cart ordered (idempotent); returns the status it set, or None if none changed.

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
    changed = carts.update(status=status, converted_at=when or timezone.now())
    return status if changed else None


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
