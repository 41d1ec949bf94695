"""Oscar's signals and model hooks, turned into omnichannel's cart, order and signup events.

Oscar announces only additions to a basket (``basket_addition``): a quantity change, a
removal, "save for later" and the merge of a guest basket into the user's at login all go
through ``Line.save()`` / ``Line.delete()`` and ``Basket.save()`` without a signal, so the
model hooks are what sees every change. Each receiver takes ``**kwargs``, returns on
``raw`` (fixtures), only notes the basket's id during the shop's request, and reads and
writes after the shop's transaction commits, never raising into the shop. A stock record
saved with units again after none, or at a lower price, is back-in-stock / price-drop news.
"""

from django.db.models.signals import post_delete, post_init, post_save
from oscar.apps.basket.signals import basket_addition
from oscar.apps.catalogue.signals import product_viewed
from oscar.apps.checkout.signals import start_checkout
from oscar.apps.customer.signals import user_registered
from oscar.apps.order.signals import order_placed, order_status_changed
from oscar.core.loading import get_model

from ...carts import carts
from ...contacts.consent import grant_consent
from ...integrations import api
from ...integrations.adapter import get_adapter
from ...integrations.safety import after_commit, never_raises
from ...models import CartSnapshot
from . import settings as oscar_settings

Basket = get_model("basket", "Basket")
Line = get_model("basket", "Line")
StockRecord = get_model("partner", "StockRecord")

DISPATCH_PREFIX = "omnichannel.oscar."


def sync_basket(basket_id):
    """Snapshot the basket as it is now (after the commit); a gone basket is an empty one.

    Submitted baskets are left to the order (which converts the cart) and "saved for
    later" ones are no cart at all. Without a request the contact comes from the basket's
    owner; a guest basket keeps the visitor and contact it was first tracked with.
    """
    basket = Basket.objects.filter(pk=basket_id).select_related("owner").first()
    if basket is not None and basket.status in (Basket.SUBMITTED, Basket.SAVED):
        return
    key = str(basket_id)
    if basket is None and not CartSnapshot.objects.filter(cart_key=key).exists():
        return
    adapter = get_adapter()
    lines = adapter.get_cart_lines(basket) if basket is not None else []
    owner_id = basket.owner_id if basket is not None else None
    carts.upsert_snapshot(
        cart_key=key,
        lines=lines,
        value=adapter.get_cart_total(basket, lines),
        currency=adapter.get_cart_currency(basket) if basket is not None else None,
        contact_id=carts.live_contact_id(user_id=owner_id) if owner_id else None,
    )


def line_loaded(sender, instance, **kwargs):
    # "Save for later" and the merges move a line by saving it with another basket: the
    # basket it came from has changed too, and only the loaded line still knows which.
    instance._omnichannel_basket_id = instance.basket_id


@never_raises
def line_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return
    after_commit(sync_basket, instance.basket_id)
    moved_from = getattr(instance, "_omnichannel_basket_id", None)
    if moved_from not in (None, instance.basket_id):
        after_commit(sync_basket, moved_from)
    instance._omnichannel_basket_id = instance.basket_id


@never_raises
def basket_saved(sender, instance, raw=False, created=False, **kwargs):
    # A new basket has no lines yet: its first line reports it.
    if raw or created:
        return
    after_commit(sync_basket, instance.pk)


@never_raises
def basket_addition_receiver(sender, product, user, request=None, **kwargs):
    # The one basket event that carries the request: the session ties a guest's basket to
    # the visitor (and to the contact once they give an email or log in).
    if request is not None:
        api.track_cart(request.basket, request)


def product_viewed_receiver(sender, product, user, request=None, **kwargs):
    # Buffered in memory, written after the response (track_product_view never raises).
    if request is not None:
        api.track_product_view(product, request)


def stock_of(record):
    """``(units available, price)`` as loaded, read without loading deferred fields."""
    values = record.__dict__
    in_stock, allocated = values.get("num_in_stock"), values.get("num_allocated")
    available = None if in_stock is None else in_stock - (allocated or 0)
    return available, values.get("price")


def stock_loaded(sender, instance, **kwargs):
    instance._omnichannel_stock = stock_of(instance)


@never_raises
def stock_changed(sender, instance, raw=False, created=False, **kwargs):
    """A stock record saved with units again after none, or with a lower price."""
    before = getattr(instance, "_omnichannel_stock", None)
    instance._omnichannel_stock = after = stock_of(instance)
    if raw or created or before is None:
        return
    (was, old_price), (now, new_price) = before, after
    if was is not None and now is not None and was <= 0 < now:
        api.notify_back_in_stock(instance.product)
    if old_price is not None and new_price is not None and new_price < old_price:
        api.notify_price_drop(instance.product, old_price, new_price)


@never_raises
def checkout_started(sender, request, email=None, **kwargs):
    """The customer reached checkout: who they are, and that this basket is at checkout."""
    consented = oscar_settings.CONSENT_FIELD in request.POST
    after_commit(record_checkout, request, str(request.basket.pk), email, consented)


def record_checkout(request, basket_key, email, consented):
    contact = api.identify(request, email=email, source="checkout")
    carts.mark_checkout_started(basket_key)
    if contact is not None and consented:
        grant_marketing_consent(contact, request, "oscar:checkout")


@never_raises
def registered(sender, request, user, **kwargs):
    consented = request is not None and oscar_settings.CONSENT_FIELD in request.POST
    after_commit(record_registration, user, request, consented)


def record_registration(user, request, consented):
    contact = api.track_signup(user, request, source="signup")
    if contact is not None and consented:
        grant_marketing_consent(contact, request, "oscar:registration")


def grant_marketing_consent(contact, request, source):
    # The ledger keeps the very words the box showed.
    grant_consent(
        contact, "email", source=source, wording=oscar_settings.consent_wording(), request=request
    )


@never_raises
def order_receiver(sender, order, **kwargs):
    # order_placed (with user) and order_status_changed (with old and new status) alike.
    api.track_order(order)


def connect():
    for model, receiver in ((Line, line_changed), (Basket, basket_saved)):
        uid = DISPATCH_PREFIX + receiver.__name__
        post_save.connect(receiver, sender=model, dispatch_uid=uid)
    post_delete.connect(line_changed, sender=Line, dispatch_uid=DISPATCH_PREFIX + "line_deleted")
    post_init.connect(line_loaded, sender=Line, dispatch_uid=DISPATCH_PREFIX + "line_loaded")
    basket_addition.connect(basket_addition_receiver, dispatch_uid=DISPATCH_PREFIX + "addition")
    post_init.connect(stock_loaded, sender=StockRecord, dispatch_uid=DISPATCH_PREFIX + "stock")
    post_save.connect(
        stock_changed, sender=StockRecord, dispatch_uid=DISPATCH_PREFIX + "stock_changed"
    )
    product_viewed.connect(product_viewed_receiver, dispatch_uid=DISPATCH_PREFIX + "viewed")
    start_checkout.connect(checkout_started, dispatch_uid=DISPATCH_PREFIX + "checkout")
    user_registered.connect(registered, dispatch_uid=DISPATCH_PREFIX + "registered")
    order_placed.connect(order_receiver, dispatch_uid=DISPATCH_PREFIX + "order_placed")
    order_status_changed.connect(order_receiver, dispatch_uid=DISPATCH_PREFIX + "order_status")
