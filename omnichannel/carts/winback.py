"""Win-back: finding buyers who stopped ordering and starting their win-back flows.

Recording a purchase puts the buyer's lapse on their newest order (``orders.schedule_lapse``:
``WINBACK_AFTER_DAYS`` after it, or a multiple of their own median interval between
purchases when they have enough of them). This sweep claims the lapses that are due, oldest
first, with ``SKIP LOCKED`` through the partial index on ``lapses_at``, clears them in the
claim's one UPDATE (so a lapse enrols once), and enrols the buyers who gave marketing
consent in the active flows triggered by "Has not ordered for a while", in bulk: a batch
costs the same few queries whatever its size. A new purchase puts a new lapse on the new
order, and the flows' "placed an order" exit ends a running win-back.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..core import claims
from ..core.batches import Report, run_batches
from ..flows.engine import Entry, enroll_triggered
from ..models import Consent, TrackedOrder
from ..models.consent import ConsentStatus, Purpose
from ..models.flows import Trigger
from .orders import lapse_after

BATCH_SIZE = 500
TIME_BUDGET_SECONDS = 20


@dataclass
class LapseReport(Report):
    claimed: int = 0  # lapses that fell due
    unreachable: int = 0  # lapsed, but without marketing consent on any channel
    enrolled: int = 0
    batches: int = 0


@transaction.atomic
def detect_lapsed(now=None, batch_size=None):
    """One batch: claim due lapses and enrol the reachable buyers; returns a ``LapseReport``.

    One transaction: a crash between clearing the lapses and enrolling rolls both back.
    The trigger key names the order the lapse follows, so a lapse enrols a buyer once per
    flow even if it were claimed twice.
    """
    now = now or timezone.now()
    report = LapseReport(batches=1)
    # The newest purchase carries the lapse; a later one (a merge of two contacts' orders)
    # means the buyer is not lapsed.
    later = TrackedOrder.objects.filter(
        contact=OuterRef("contact"), is_purchase=True, placed_at__gt=OuterRef("placed_at")
    )
    due = TrackedOrder.objects.filter(
        lapses_at__lte=now, contact__isnull=False, is_purchase=True
    ).exclude(Exists(later))
    ids = claims.claim(
        due, limit=batch_size or BATCH_SIZE, order_by=("lapses_at",), mark={"lapses_at": None}
    )
    report.claimed = len(ids)
    if not ids:
        return report
    consenting = Consent.objects.filter(
        contact=OuterRef("contact"), purpose=Purpose.MARKETING, status=ConsentStatus.GRANTED
    )
    reachable = list(
        TrackedOrder.objects.filter(pk__in=ids)
        .filter(Exists(consenting))
        .values_list("pk", "contact_id", "order_key")
    )
    report.unreachable = len(ids) - len(reachable)
    if not reachable:
        return report
    lapsed_at = lapse_moments({contact_id for _pk, contact_id, _key in reachable})
    entries = [
        Entry(
            contact=None,
            contact_id=contact_id,
            trigger_key=f"lapse:{pk}",
            # The moment of the lapse, not of the sweep: activating a win-back flow does
            # not message those who lapsed before (the engine's activation rule).
            triggered_at=lapsed_at[contact_id],
            context={"last_order": key},
        )
        for pk, contact_id, key in reachable
    ]
    report.enrolled += enroll_triggered(Trigger.LAPSED, entries)
    return report


def lapse_moments(contact_ids):
    """contact pk -> when they lapsed, from their purchases (one query): the claim has
    cleared the stored moment."""
    placed = defaultdict(list)
    for contact_id, placed_at in (
        TrackedOrder.objects.filter(contact_id__in=contact_ids, is_purchase=True)
        .order_by("placed_at")
        .values_list("contact_id", "placed_at")
    ):
        placed[contact_id].append(placed_at)
    return {contact_id: times[-1] + lapse_after(times) for contact_id, times in placed.items()}


def detect_all(time_budget=None):
    """Lapse batches until none is due or the time budget is spent."""
    return run_batches(
        detect_lapsed,
        LapseReport(),
        lambda batch: batch.claimed,
        time_budget or TIME_BUDGET_SECONDS,
        BATCH_SIZE,
    )
