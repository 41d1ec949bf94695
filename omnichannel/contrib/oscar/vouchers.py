"""Offers in flows as Oscar vouchers: single use, expiring, applied on restore.

Each code is a ``Voucher`` (usage "single use", valid from now until the offer expires)
with its own voucher-type ``ConditionalOffer``: a benefit of the flow step's kind on all
products, on the condition of one item in the basket. Applying it goes through Oscar's own
rules (active, available to this customer, and an offer that actually discounts the
basket), as the basket page's voucher form does; a voucher that gives nothing is taken off
again. Expired codes nobody used are deleted, a few at a time, whenever a new one is made.
"""

import logging

from django.db import transaction
from django.utils import timezone
from oscar.apps.basket.signals import voucher_addition
from oscar.core.loading import get_class, get_model

Applicator = get_class("offer.applicator", "Applicator")
Benefit = get_model("offer", "Benefit")
Condition = get_model("offer", "Condition")
ConditionalOffer = get_model("offer", "ConditionalOffer")
Range = get_model("offer", "Range")
Voucher = get_model("voucher", "Voucher")
get_unused_code = get_class("voucher.utils", "get_unused_code")

logger = logging.getLogger(__name__)

# Names of everything this module creates start so, which is how cleaning up finds them.
NAME_PREFIX = "omnichannel"
RANGE_NAME = f"{NAME_PREFIX}: all products"
PURGE_BATCH = 50

BENEFIT_TYPES = {
    "percent": Benefit.PERCENTAGE,
    "fixed": Benefit.FIXED,
    "free_shipping": Benefit.SHIPPING_PERCENTAGE,
}


@transaction.atomic
def create(spec):
    """A new single-use voucher per ``spec`` (a ``DiscountSpec``); returns its code."""
    purge_expired()
    code = f"{spec.prefix}{get_unused_code(length=8, group_length=8)}".upper()
    everything, _ = Range.objects.get_or_create(
        name=RANGE_NAME, defaults={"includes_all_products": True}
    )
    value = 100 if spec.kind == "free_shipping" else spec.value
    benefit = Benefit.objects.create(range=everything, type=BENEFIT_TYPES[spec.kind], value=value)
    offer = ConditionalOffer.objects.create(
        name=f"{NAME_PREFIX} {code}",
        offer_type=ConditionalOffer.VOUCHER,
        benefit=benefit,
        condition=Condition.objects.create(range=everything, type=Condition.COUNT, value=1),
        end_datetime=spec.expires_at,
    )
    voucher = Voucher.objects.create(
        name=f"{NAME_PREFIX} {code}",
        code=code,
        usage=Voucher.SINGLE_USE,
        start_datetime=timezone.now(),
        end_datetime=spec.expires_at,
    )
    voucher.offers.add(offer)
    return voucher.code


def apply(request, code):
    """Put voucher ``code`` on ``request.basket`` when Oscar's rules allow it."""
    basket = request.basket
    voucher = Voucher._default_manager.filter(code=code.strip().upper()).first()
    if voucher is None or basket.pk is None or basket.contains_voucher(voucher.code):
        return False
    if not voucher.is_active() or not voucher.is_available_to_user(request.user)[0]:
        return False
    basket.vouchers.add(voucher)
    voucher_addition.send(sender=apply, basket=basket, voucher=voucher)
    Applicator().apply(basket, request.user, request)
    if not any(applied["voucher"] == voucher for applied in basket.offer_applications):
        basket.vouchers.remove(voucher)  # the basket does not qualify
        return False
    return True


def purge_expired(now=None):
    """Delete up to ``PURGE_BATCH`` expired vouchers of ours that no order used."""
    now = now or timezone.now()
    expired = list(
        Voucher.objects.filter(
            name__startswith=f"{NAME_PREFIX} ", end_datetime__lt=now, num_orders=0
        ).values_list("pk", flat=True)[:PURGE_BATCH]
    )
    if not expired:
        return 0
    offers = ConditionalOffer.objects.filter(
        vouchers__in=expired, name__startswith=f"{NAME_PREFIX} "
    )
    parts = list(offers.values_list("benefit_id", "condition_id"))
    offers.delete()
    Benefit.objects.filter(pk__in=[benefit for benefit, _ in parts]).delete()
    Condition.objects.filter(pk__in=[condition for _, condition in parts]).delete()
    Voucher.objects.filter(pk__in=expired).delete()
    return len(expired)
