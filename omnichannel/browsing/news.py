"""Telling contacts that a product they care about is back in stock or costs less.

The sweep claims recorded ``ProductEvent`` rows (``SKIP LOCKED``, held until its
transaction commits) and enrols, in the active flows of the matching trigger:

* the contacts who asked (a pending ``ProductAlert``): their enrollment says
  ``requested``, and the flow's message may go to them as the service they asked for,
  without marketing consent, unless they refused the channel;
* the identified contacts who viewed the product in the last ``PRODUCT_NEWS_VIEW_DAYS``,
  except those who ordered since their last view (they may have bought it: never
  advertise a lower price to a customer who just paid the full one).

Without an active flow for the event's trigger, the alerts stay pending for a later one.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..conf import omnichannel_settings
from ..core import claims
from ..core.batches import Report, run_batches
from ..flows.engine import Entry, enroll_triggered, triggered_flows
from ..models import ProductAlert, ProductEvent, ProductView, TrackedOrder
from ..models.browsing import ProductAlertKind
from ..models.flows import Trigger

TRIGGERS = {
    ProductAlertKind.BACK_IN_STOCK: Trigger.BACK_IN_STOCK,
    ProductAlertKind.PRICE_DROP: Trigger.PRICE_DROP,
}
# Each event may reach thousands of contacts: a few per transaction.
EVENTS_PER_BATCH = 10


@dataclass
class NewsReport(Report):
    claimed: int = 0
    requested: int = 0  # contacts who asked
    viewers: int = 0  # contacts who only viewed
    enrolled: int = 0
    batches: int = 0


def audience(event):
    """``{contact pk: requested}`` of the contacts ``event`` concerns."""
    asked = set(
        ProductAlert.objects.filter(
            product_id=event.product_id, kind=event.kind, notified_at__isnull=True
        ).values_list("contact_id", flat=True)
    )
    since = event.happened_at - timedelta(days=omnichannel_settings.PRODUCT_NEWS_VIEW_DAYS)
    last_view = {}
    for contact_id, at in ProductView.objects.filter(
        product_id=event.product_id, contact__isnull=False, last_viewed_at__gte=since
    ).values_list("contact_id", "last_viewed_at"):
        last_view[contact_id] = max(at, last_view.get(contact_id, at))
    bought = {
        contact_id
        for contact_id, placed_at in TrackedOrder.objects.filter(
            contact_id__in=last_view.keys() - asked, is_purchase=True
        ).values_list("contact_id", "placed_at")
        if placed_at >= last_view[contact_id]
    }
    viewers = last_view.keys() - asked - bought
    return {**dict.fromkeys(viewers, False), **dict.fromkeys(asked, True)}


def announce(event, now, report):
    if not triggered_flows(TRIGGERS[event.kind]).exists():
        return
    concerned = audience(event)
    report.requested += sum(concerned.values())
    report.viewers += len(concerned) - sum(concerned.values())
    context = {
        "product": event.product,
        "old_price": "" if event.old_price is None else str(event.old_price),
        "new_price": "" if event.new_price is None else str(event.new_price),
    }
    entries = [
        Entry(
            contact=None,
            contact_id=contact_id,
            trigger_key=f"{event.kind}:{event.pk}:{contact_id}",
            triggered_at=event.happened_at,
            context={**context, "requested": requested},
        )
        for contact_id, requested in concerned.items()
    ]
    report.enrolled += enroll_triggered(TRIGGERS[event.kind], entries)
    ProductAlert.objects.filter(
        product_id=event.product_id,
        kind=event.kind,
        contact_id__in=[c for c, requested in concerned.items() if requested],
        notified_at__isnull=True,
    ).update(notified_at=now)


@transaction.atomic
def announce_due(now=None):
    """One batch: claim recorded events and enrol the contacts they concern."""
    now = now or timezone.now()
    report = NewsReport(batches=1)
    ids = claims.claim(
        ProductEvent.objects.filter(processed_at__isnull=True),
        limit=EVENTS_PER_BATCH,
        order_by=("happened_at",),
        mark={"processed_at": now},
    )
    report.claimed = len(ids)
    for event in ProductEvent.objects.filter(pk__in=ids).order_by("happened_at"):
        announce(event, now, report)
    return report


def announce_all(time_budget=None):
    """Batches until no recorded event is left or the time budget is spent."""
    return run_batches(
        announce_due,
        NewsReport(),
        lambda batch: batch.claimed,
        time_budget or omnichannel_settings.CART_DETECTION_TIME_BUDGET_SECONDS,
        EVENTS_PER_BATCH,
    )
