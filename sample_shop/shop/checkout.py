"""Turning a cart into an order."""

from django.db import transaction
from django.utils import timezone

from .models import CURRENCY, DiscountCode, Order, OrderLine


class DiscountUnavailable(Exception):
    """The cart's code was used or expired between the cart page and the order."""


def place_order(cart, *, user, name, email, phone, status):
    """Create the ``Order`` and its lines from ``cart`` and claim its discount code.

    The code is claimed with a conditional UPDATE inside the order's transaction, so two
    checkouts racing for one single-use code cannot both get it.
    """
    items = cart.items
    discount = cart.discount
    discount_amount = cart.discount_amount
    with transaction.atomic():
        if discount is not None:
            claimed = (
                DiscountCode.objects.usable().filter(pk=discount.pk).update(used_at=timezone.now())
            )
            if not claimed:
                raise DiscountUnavailable(discount.code)
        order = Order.objects.create(
            user=user,
            name=name,
            email=email,
            phone=phone,
            status=status,
            discount_code=discount.code if discount else "",
            discount_amount=discount_amount,
            total=cart.subtotal - discount_amount,
            currency=CURRENCY,
            cart_key=cart.id,
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=item.product,
                name=item.product.name,
                unit_price=item.unit_price,
                quantity=item.quantity,
            )
            for item in items
        )
    return order
