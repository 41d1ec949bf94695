"""Back in stock and price drops: what the shop reports, and who asked to hear about it.

Both writes are one statement: the shop's stock update or price change records a
``ProductEvent`` and goes on; ``omnichannel.browsing.news`` finds and enrols the contacts
afterwards, in a sweep.
"""

from django.utils import timezone

from ..models import ProductAlert, ProductEvent
from ..models.browsing import ProductAlertKind


def record_event(kind, product, *, old_price=None, new_price=None):
    """Record that ``product`` (a ``Product``) is back in stock or costs less."""
    return ProductEvent.objects.create(
        kind=kind,
        product_id=str(product.product_id)[:64],
        product=product_json(product),
        old_price=old_price,
        new_price=new_price,
        happened_at=timezone.now(),
    )


def product_json(product):
    return {
        "product_id": str(product.product_id),
        "name": product.name,
        "url": product.url,
        "image_url": product.image_url,
        "price": "" if product.price is None else str(product.price),
    }


def request_alert(contact, product_id, kind=ProductAlertKind.BACK_IN_STOCK):
    """``contact`` asks to hear about ``product_id``: one upsert; asking again after a
    notification asks for the next one."""
    alert, _created = ProductAlert.objects.update_or_create(
        contact=contact,
        product_id=str(product_id),
        kind=kind,
        defaults={"requested_at": timezone.now(), "notified_at": None},
    )
    return alert
