"""The public Python API a shop calls from its own views.

Each function is safe to call from the shop's request: it never raises (failures are
logged on the ``omnichannel.integrations`` logger), and inside the shop's transaction it
runs in a savepoint of its own (``safety.never_raises``), so a database error on our side
rolls back only our part and never the shop's transaction. What is written when:

* ``identify`` and ``track_signup`` write in the request: the contact has to exist for
  the consents and the order the shop records next. The signup signal (the welcome
  series) is sent after the shop's transaction commits.
* ``track_cart`` and ``track_order`` only read the shop's cart / order in the request
  (through the adapter) and write after the shop's transaction commits, so nothing is
  recorded for a cart or an order that rolled back.
* ``track_product_view`` writes nothing in the request and runs no query there: the
  views of a request are written together once its response has gone.
* ``notify_back_in_stock`` and ``notify_price_drop`` read the product through the adapter
  now and record the news after the shop's transaction commits (one INSERT); the sweep
  tells the contacts later.
* ``omnichannel.flows.events.track_event`` writes the event's enrollments in the request.

    from omnichannel.integrations import (
        identify, track_cart, track_order, track_product_view, track_signup,
    )

``track_order_status`` reports a status change where the order object does not carry the
new status yet (a ``pre_save`` hook, a status model of its own).
"""

import dataclasses
import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..browsing import alerts, product_views
from ..carts import carts, orders
from ..contacts import identity
from ..core.normalize import clean_email, normalize_phone
from ..models import Contact
from ..models.browsing import ProductAlertKind
from . import session
from .adapter import Product, get_adapter
from .safety import after_commit, never_raises

logger = logging.getLogger("omnichannel.integrations")

PROFILE_KEYS = {"first_name", "last_name", "locale", "country", "time_zone"}


def _authenticated_user(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _valid_or_none(clean, value, what):
    try:
        return clean(value)
    except ValidationError as exc:
        logger.warning("omnichannel: ignoring invalid %s %r: %s", what, value, exc.messages[0])
        return None


@never_raises
def identify(
    request=None, *, user=None, email=None, phone=None, source="", attributes=None, **profile
):
    """Tell the app who the visitor is; returns their ``Contact`` (or None on failure).

    Call it when the visitor gives an email or phone (a checkout field, a newsletter form).
    With a ``request``, the session's guest contact and anonymous carts join the contact,
    and the session remembers it. ``profile`` takes ``first_name``, ``last_name``,
    ``locale``, ``country`` and ``time_zone``; ``attributes`` is a dict of extra profile
    fields. Existing values are never overwritten. Writes in the request, in a savepoint.
    """
    unknown = set(profile) - PROFILE_KEYS
    if unknown:
        raise TypeError(f"identify() got unexpected profile fields: {sorted(unknown)}")
    email = _valid_or_none(clean_email, email, "email")
    phone = _valid_or_none(
        lambda value: normalize_phone(value, region=profile.get("country") or None), phone, "phone"
    )
    user = user or _authenticated_user(request)
    session_contact_id = session.contact_id(request) if request is not None else None
    extra = list(Contact.objects.filter(pk=session_contact_id)) if session_contact_id else []
    if not (user or email or phone or extra):
        return None
    contact = identity.resolve_contact(
        user=user, email=email, phone=phone, source=source, profile=profile, extra=extra
    )
    if attributes:
        contact.attributes = {**attributes, **contact.attributes}
        contact.save(update_fields=["attributes", "updated_at"])
    if request is not None:
        session.remember_contact(
            request, contact, verified=_authenticated_user(request) is not None
        )
        visitor = session.visitor_id(request, create=False)
        carts.attach_visitor_carts(visitor, contact)
        product_views.attach_visitor_views(visitor, contact)
    return contact


@never_raises
def track_signup(user, request=None, *, source="signup", **profile):
    """A shop user signed up: create or join their contact and record the signup once.

    Writes in the request, in a savepoint; the ``signup_tracked`` signal (which starts
    the welcome series) goes after the shop's transaction commits.
    """
    contact = identify(
        request, user=user, email=getattr(user, "email", None), source=source, **profile
    )
    if contact is not None:
        identity.mark_signed_up(contact, request=request, user=user)
    return contact


@never_raises
def track_cart(cart, request=None):
    """The shop's ``cart`` changed: snapshot it after the shop's transaction commits.

    Reads the cart through the adapter now, in a savepoint (it may change later in the
    request), and writes after the commit with at most two queries: one to check the
    contact, one upsert.
    """
    adapter = get_adapter()
    lines = adapter.get_cart_lines(cart)
    snapshot = {
        "cart_key": str(adapter.get_cart_key(cart)),
        "lines": lines,
        "value": adapter.get_cart_total(cart, lines),
        "currency": adapter.get_cart_currency(cart),
    }
    email = adapter.get_cart_email(cart)
    if request is None:
        after_commit(_write_cart, snapshot, email=email)
        return
    session.remember_cart(
        request,
        snapshot["value"],
        [line.product_id for line in lines] + [line.sku for line in lines],
    )
    user = _authenticated_user(request)
    after_commit(
        _write_cart,
        snapshot,
        email=email,
        visitor_id=session.visitor_id(request),
        contact_id=session.contact_id(request),
        user_id=user.pk if user else None,
    )


def _write_cart(snapshot, *, email="", visitor_id=None, contact_id=None, user_id=None):
    live_id = carts.live_contact_id(contact_id=contact_id, user_id=user_id)
    if live_id is None and email:
        contact = identity.resolve_contact(email=clean_email(email), source="cart")
        live_id = contact.pk
    # An email the shop holds for the cart means the customer started checkout with it.
    carts.upsert_snapshot(
        **snapshot, visitor_id=visitor_id, contact_id=live_id, checkout=bool(email)
    )


@never_raises
def track_order(order, request=None):
    """The shop placed ``order`` or changed its status: record it after commit.

    Reads the order through the adapter now, in a savepoint, and writes after the shop's
    transaction commits. The buyer's contact is found from the order's user, email or
    phone and the current session; a purchase converts the order's cart, which stops its
    recovery.
    """
    after_commit(_write_order, get_adapter().get_order_data(order), request)


def _write_order(data, request):
    contact = identify(
        request, user=data.user, email=data.email, phone=data.phone or None, source="order"
    )
    orders.record_order(data, contact)


@never_raises
def track_order_status(order, status, request=None):
    """``order``'s status changed to ``status``: record it after commit, as ``track_order``.

    Reaching a ``PURCHASE_ORDER_STATUSES`` status makes the order a purchase; reaching a
    ``REVIEW_ORDER_STATUSES`` one starts the flows of a delivered order (review request).
    """
    data = dataclasses.replace(get_adapter().get_order_data(order), status=str(status))
    after_commit(_write_order, data, request)


def track_product_view(product, request=None, *, contact=None):
    """The visitor of ``request`` (or ``contact``) looked at the shop's ``product``.

    Costs the request no query and no network call: the view is kept in memory and
    written with the request's other views once the response has gone (one upsert, one
    row per visitor and product), after the shop's adapter has turned ``product`` into a
    ``Product`` (``ShopAdapter.get_product``). The visitor's id lives in the session, which
    the shop has loaded already when its page shows who is logged in. Without a request,
    give ``contact``: the view is written after the current transaction commits.
    Never raises.
    """
    # Not ``never_raises``: its savepoint would be the query this function must not run.
    try:
        if request is None:
            if contact is not None:
                view = product_views.PendingView(product, timezone.now(), contact_id=contact.pk)
                after_commit(write_views, [view])
            return
        product_views.buffer_view(
            product_views.PendingView(
                product, timezone.now(), visitor_id=session.visitor_id(request), request=request
            )
        )
    except Exception:
        logger.exception("omnichannel: track_product_view failed; the shop's request goes on.")


def write_buffered_views():
    """Write the product views this thread buffered (the app calls it once the response
    has gone); returns how many rows were upserted."""
    return write_views(product_views.take_buffered())


def write_views(views):
    """Who viewed, read from each view's session now, and the products read through the
    adapter; then one upsert."""
    ready = []
    for view in views:
        who = {}
        if view.request is not None:
            user = _authenticated_user(view.request)
            who = {
                "contact_id": session.contact_id(view.request),
                "user_id": user.pk if user else None,
                "request": None,
            }
        ready.append(dataclasses.replace(view, product=_as_product(view.product), **who))
    return product_views.write_views(ready)


def _as_product(product):
    return product if isinstance(product, Product) else get_adapter().get_product(product)


@never_raises
def notify_back_in_stock(product):
    """The shop's ``product`` (or a ``Product``) can be bought again.

    Contacts who asked to be told (the "notify me" endpoint) and those who viewed it
    lately hear about it through the flows started by "back in stock". Recorded after the
    shop's transaction commits; never raises.
    """
    after_commit(alerts.record_event, ProductAlertKind.BACK_IN_STOCK, _as_product(product))


@never_raises
def notify_price_drop(product, old_price, new_price):
    """The price of the shop's ``product`` (or a ``Product``) went from ``old_price`` down
    to ``new_price``; a price that did not drop is logged and ignored. As
    ``notify_back_in_stock``, for the flows started by "price drop"."""
    try:
        old, new = Decimal(str(old_price)), Decimal(str(new_price))
    except InvalidOperation:
        logger.warning(
            "omnichannel: notify_price_drop() needs prices, got %r and %r", old_price, new_price
        )
        return
    if not 0 <= new < old:
        logger.warning(
            "omnichannel: notify_price_drop() ignored: %s -> %s is no price drop.", old, new
        )
        return
    after_commit(
        alerts.record_event,
        ProductAlertKind.PRICE_DROP,
        _as_product(product),
        old_price=old,
        new_price=new,
    )
