"""The cart restore link: the abandoned cart back, on any device, with its code.

The link carries a signed, expiring token over the cart's UUID (never a sequential id).
Opening it rebuilds the cart in the current browser through the shop adapter (which may
copy the lines into a new shop cart: the snapshot then follows the copy), applies the
enrollment's discount code when there is one, and records the click. It never logs
anyone in, and it does not tie the browser to the contact either: a forwarded link must
not open someone's inbox. A bad, expired or spent link gets a friendly page that leads
to the shop, not an error.
"""

import logging
import uuid

from django.core import signing
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..carts.carts import FINAL_STATUSES
from ..core.tokens import read_restore_token
from ..integrations.adapter import RestoredCart, get_adapter
from ..models import CartSnapshot, DeliveryEvent, Message
from ..models.messages import DeliveryEventKind

logger = logging.getLogger(__name__)


def cart_link_page(request, problem, status):
    shop = get_adapter().get_shop_context()
    context = {"problem": problem, "shop_url": shop.get("url") or "/", "shop": shop}
    return render(request, "omnichannel/cart_link.html", context, status=status)


@never_cache
@require_GET
def restore_cart(request, token):
    try:
        cart_hex, message_hex = read_restore_token(token)
        cart_uuid = uuid.UUID(cart_hex)
    except signing.SignatureExpired:
        return cart_link_page(request, "expired", 410)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return cart_link_page(request, "invalid", 400)
    snapshot = CartSnapshot.objects.filter(uuid=cart_uuid).first()
    if snapshot is None:
        return cart_link_page(request, "gone", 404)
    if snapshot.status in FINAL_STATUSES:
        return cart_link_page(request, "ordered", 200)
    message = message_from(message_hex)
    adapter = get_adapter()
    try:
        # One transaction: the shop's writes for the rebuilt cart, and the snapshot moving
        # to the cart they went into, land together (the shop's cart hooks run after it).
        with transaction.atomic():
            restored = as_restored_cart(adapter.restore_cart(request, snapshot), snapshot)
            follow_restored_cart(snapshot, restored.cart_key)
            code = valid_offer(message)
            if code:
                adapter.apply_discount_code(request, code)
    except Exception:  # the shop's adapter failed: say so kindly, log it for the developers
        logger.exception("omnichannel: restoring cart %s failed", snapshot.uuid)
        return cart_link_page(request, "failed", 503)
    if message is not None:
        DeliveryEvent.objects.get_or_create(
            provider_event_id=f"restore:{message.uuid}",
            defaults={
                "message": message,
                "kind": DeliveryEventKind.CLICKED,
                "detail": "cart restore link",
                "occurred_at": timezone.now(),
            },
        )
    response = redirect(restored.url)
    if restored.on_response is not None:
        restored.on_response(response)
    return response


def as_restored_cart(result, snapshot):
    """The adapter's answer as a ``RestoredCart``: a bare URL means the same cart key."""
    if isinstance(result, RestoredCart):
        return result
    return RestoredCart(cart_key=snapshot.cart_key, url=result)


def follow_restored_cart(snapshot, cart_key):
    """Move ``snapshot`` to the shop cart its lines were copied into.

    The copy's later changes and the order it becomes are then reported against the cart
    being recovered. A key some other snapshot holds already (a cart the shop tracked
    before) is left alone: that cart has its own history.
    """
    cart_key = str(cart_key)
    if cart_key == snapshot.cart_key:
        return
    if CartSnapshot.objects.filter(cart_key=cart_key).exists():
        logger.info("omnichannel: cart %s restored into tracked cart %s", snapshot.uuid, cart_key)
        return
    CartSnapshot.objects.filter(pk=snapshot.pk).update(cart_key=cart_key)
    snapshot.cart_key = cart_key


def message_from(message_hex):
    try:
        message_uuid = uuid.UUID(message_hex)
    except (TypeError, ValueError):
        return None
    return Message.objects.select_related("enrollment").filter(uuid=message_uuid).first()


def valid_offer(message):
    enrollment = message.enrollment if message is not None else None
    if enrollment is None or not enrollment.offer_code:
        return ""
    expires_at = enrollment.offer_expires_at
    return enrollment.offer_code if expires_at is None or expires_at > timezone.now() else ""
