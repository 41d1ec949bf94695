"""Recording product views without costing the shop's request anything.

A product page is the shop's hottest page, so a view costs it no query and no network
call: ``buffer_view`` only appends to a list kept for the current thread, and the list is
written once the response has gone (``request_finished``, see
``omnichannel.integrations.api.write_buffered_views``), in one upsert for all the views
of the request. Reading the shop's product through the adapter (which may query, e.g. a
price from stock records) happens then too.

A view is deduplicated per viewer (the session's visitor, else the known contact) and
product: viewing again moves ``last_viewed_at`` and reopens the view for browse
abandonment, it never adds a row.
"""

from dataclasses import dataclass
from datetime import datetime

from asgiref.local import Local
from django.db.models import Q

from ..models import Contact, ProductView

_pending = Local()


@dataclass(frozen=True)
class PendingView:
    """One view waiting to be written.

    Buffered with the shop's own product and the ``request``; before writing, the bridge
    turns the product into a ``Product`` and reads who viewed from the session then, so a
    visitor who identifies later in the same request gets the view too.
    """

    product: object
    viewed_at: datetime
    visitor_id: object = None
    request: object = None
    contact_id: int | None = None  # the session's contact, checked before writing
    user_id: int | None = None


def buffer_view(view):
    """Keep ``view`` until the current request has finished (no query, no I/O)."""
    if not hasattr(_pending, "views"):
        _pending.views = []
    _pending.views.append(view)


def discard_buffered():
    """Drop what an earlier request of this thread left (a request that never finished)."""
    _pending.views = []


def has_buffered():
    return bool(getattr(_pending, "views", None))


def take_buffered():
    views = getattr(_pending, "views", [])
    _pending.views = []
    return views


def write_views(views):
    """Upsert ``views`` (``PendingView`` with a ``Product``): at most two statements.

    The contacts named by sessions are checked to exist (a session can outlive its
    contact), a user without a session contact is looked up by user, and a view that
    belongs to neither a visitor nor a contact is dropped: nobody could ever be reminded
    of it.
    """
    if not views:
        return 0
    contact_ids = _live_contacts(views)
    rows = {}
    for view in views:
        contact_id = contact_ids.get(("contact", view.contact_id)) or contact_ids.get(
            ("user", view.user_id)
        )
        if view.visitor_id is not None:
            viewer = f"visitor:{view.visitor_id}"
        elif contact_id is not None:
            viewer = f"contact:{contact_id}"
        else:
            continue
        product = view.product
        # One row per viewer and product in one statement: the latest view wins.
        rows[viewer, str(product.product_id)] = ProductView(
            viewer=viewer,
            visitor_id=view.visitor_id,
            contact_id=contact_id,
            product_id=str(product.product_id)[:64],
            name=product.name[:255],
            url=product.url[:500],
            image_url=product.image_url[:500],
            price=product.price,
            first_viewed_at=view.viewed_at,
            last_viewed_at=view.viewed_at,
        )
    if rows:
        ProductView.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["viewer", "product_id"],
            # The contact is left as it is: ``identify`` attached it, and a view made
            # after the session forgot the contact must not detach it.
            update_fields=["name", "url", "image_url", "price", "last_viewed_at", "handled_at"],
        )
    return len(rows)


def _live_contacts(views):
    """``("contact", pk)`` / ``("user", user pk)`` -> the existing contact's pk."""
    contact_ids = {v.contact_id for v in views if v.contact_id is not None}
    user_ids = {v.user_id for v in views if v.user_id is not None and v.contact_id is None}
    if not (contact_ids or user_ids):
        return {}
    found = {}
    for pk, user_id in Contact.objects.filter(
        Q(pk__in=contact_ids) | Q(user_id__in=user_ids)
    ).values_list("pk", "user_id"):
        if pk in contact_ids:
            found["contact", pk] = pk
        if user_id in user_ids:
            found["user", user_id] = pk
    return found


def attach_visitor_views(visitor_id, contact):
    """Give the visitor's anonymous views to the contact they turned out to be."""
    if visitor_id is None:
        return 0
    contact_id = getattr(contact, "pk", contact)
    return ProductView.objects.filter(visitor_id=visitor_id, contact__isnull=True).update(
        contact_id=contact_id
    )
