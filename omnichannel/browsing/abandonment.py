"""Browse abandonment: identified visitors who looked at products and left without them.

A contact's browsing has ended when none of their product views is newer than
``BROWSE_IDLE_MINUTES``. The sweep claims such views oldest first with ``SKIP LOCKED``
(the partial index on identified, unhandled views serves it), marks them handled, and
enrols each contact once in the active browse-abandonment flows with the products they
looked at last, newest first. A contact is left alone when, since the first of those
views, they touched a cart (the cart recovery speaks for them then), ordered, or are in
a cart recovery; views older than ``BROWSE_WINDOW_HOURS`` are marked handled without a
reminder (a contact identified today is not reminded of last month's visit).

The flow re-checks the same before each step (the "added to the cart" and "ordered"
exit goals), and the dispatcher before each send, so a reminder never follows a cart or
an order, whichever happens first.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..conf import omnichannel_settings
from ..core import claims
from ..core.batches import Report, run_batches
from ..flows.engine import Entry, carting_contacts, enroll_triggered
from ..models import ProductView, TrackedOrder
from ..models.flows import Trigger

# How many of the products a contact looked at a reminder shows (the latest ones).
PRODUCTS_SHOWN = 3


@dataclass
class BrowseReport(Report):
    claimed: int = 0  # idle views marked handled
    contacts: int = 0  # contacts whose browsing ended within the window
    skipped: int = 0  # of those: touched a cart, ordered, or in a cart recovery since
    enrolled: int = 0
    batches: int = 0


def idle_time():
    return timedelta(minutes=omnichannel_settings.BROWSE_IDLE_MINUTES)


def claim_idle(limit, now):
    """Mark up to ``limit`` views of contacts who stopped browsing handled; returns them.

    Locked until the caller's transaction commits, so a crash rolls the marks back with
    the enrollments. A contact with a recent view is still browsing: none of their views
    is taken yet.
    """
    cutoff = now - idle_time()
    still_browsing = ProductView.objects.filter(
        contact=OuterRef("contact"), handled_at__isnull=True, last_viewed_at__gte=cutoff
    )
    ids = claims.claim(
        ProductView.objects.filter(
            handled_at__isnull=True, contact__isnull=False, last_viewed_at__lt=cutoff
        ).filter(~Exists(still_browsing)),
        limit=limit,
        order_by=("last_viewed_at",),
        mark={"handled_at": now},
    )
    return list(ProductView.objects.filter(pk__in=ids).order_by("-last_viewed_at"))


def entries_for(views, now):
    """One ``Entry`` per contact whose views within the window show no cart or order."""
    window_start = now - timedelta(hours=omnichannel_settings.BROWSE_WINDOW_HOURS)
    by_contact = defaultdict(list)
    for view in views:  # newest first
        if view.last_viewed_at >= window_start:
            by_contact[view.contact_id].append(view)
    if not by_contact:
        return [], 0
    since = {contact_id: seen[-1].last_viewed_at for contact_id, seen in by_contact.items()}
    moved_on = carting_contacts(by_contact, since) | ordered_contacts(since)
    entries = []
    for contact_id, seen in by_contact.items():
        if contact_id in moved_on:
            continue
        # One product once, even when two visitor ids of the contact viewed it.
        products = list({view.product_id: view for view in reversed(seen)}.values())[::-1]
        products = products[:PRODUCTS_SHOWN]
        latest = seen[0].last_viewed_at
        entries.append(
            Entry(
                contact=None,
                contact_id=contact_id,
                trigger_key=f"browse:{contact_id}:{latest.isoformat()}",
                triggered_at=latest + idle_time(),
                context={"products": [view.as_product_json() for view in products]},
            )
        )
    return entries, len(by_contact) - len(entries)


def ordered_contacts(since):
    """The contacts of ``since`` (pk -> moment) with a purchase from that moment on."""
    placed = TrackedOrder.objects.filter(contact_id__in=since, is_purchase=True).values_list(
        "contact_id", "placed_at"
    )
    return {contact_id for contact_id, at in placed if at >= since[contact_id]}


@transaction.atomic
def detect_abandoned_browsing(now=None, batch_size=None):
    """One detection batch: mark idle views handled and enrol the contacts they remind."""
    now = now or timezone.now()
    report = BrowseReport(batches=1)
    views = claim_idle(batch_size or omnichannel_settings.CART_DETECTION_BATCH_SIZE, now)
    report.claimed = len(views)
    entries, report.skipped = entries_for(views, now)
    report.contacts = len(entries) + report.skipped
    if not entries:
        return report
    report.enrolled += enroll_triggered(Trigger.BROWSE_ABANDONED, entries)
    return report


def detect_all(time_budget=None):
    """Detection batches until no idle view is left or the time budget is spent."""
    return run_batches(
        detect_abandoned_browsing,
        BrowseReport(),
        lambda batch: batch.claimed,
        time_budget or omnichannel_settings.CART_DETECTION_TIME_BUDGET_SECONDS,
        omnichannel_settings.CART_DETECTION_BATCH_SIZE,
    )
