"""Cart recovery: finding abandoned carts and starting their recovery flows.

A cart is abandoned when it has lines, nobody touched it for ``CART_IDLE_MINUTES``, and
no order (paid or awaiting payment) came from it. The detection is an indexed sweep:
it claims idle open carts oldest first with ``SKIP LOCKED`` (the partial index on open
carts' last activity serves it), marks them abandoned, and enrols the reachable ones in
the active cart-recovery flows in bulk, so a batch costs the same few queries whatever
its size. Editing an abandoned cart makes it open again; its enrollment keeps going
(see ``omnichannel.flows.engine``: the next step waits for the cart to be idle again).
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, When
from django.utils import timezone

from ..conf import omnichannel_settings
from ..core import claims
from ..core.batches import Report, run_batches
from ..flows.engine import Entry, enroll_many
from ..models import CartSnapshot, Consent, Flow, TrackedOrder
from ..models.carts import CartStatus
from ..models.consent import ConsentStatus, Purpose
from ..models.flows import FlowStatus, Trigger
from .carts import idle_time


@dataclass
class DetectionReport(Report):
    claimed: int = 0  # idle carts looked at: abandoned ones and empty ones expired
    abandoned: int = 0
    unreachable: int = 0  # abandoned, but no reminder could reach the contact
    enrolled: int = 0
    batches: int = 0


def claim_idle(limit, now):
    """Mark up to ``limit`` idle open carts abandoned (locked until commit).

    Returns ``(carts, reachable, claimed)``: the carts with lines marked abandoned, those of
    them a reminder can reach (``recoverable``; each cart records which it was, for the
    dashboard), and how many idle carts were claimed. Called inside ``detect_abandoned``'s
    transaction: the row locks hold the carts until it commits, and a crash rolls the marks
    back with the enrollments. Idle carts without lines are not abandoned carts: they are
    marked expired in the same pass (a later change opens them again), so they neither
    count as abandoned nor come back to every sweep.
    """
    ids = claims.claim(
        CartSnapshot.objects.filter(status=CartStatus.OPEN, last_activity_at__lt=now - idle_time()),
        limit=limit,
        order_by=("last_activity_at",),
        mark={"status": CartStatus.ABANDONED, "abandoned_at": now},
    )
    claimed = list(CartSnapshot.objects.filter(pk__in=ids).select_related("contact"))
    empty = [cart.pk for cart in claimed if not cart.item_count]
    if empty:
        CartSnapshot.objects.filter(pk__in=empty).update(
            status=CartStatus.EXPIRED, abandoned_at=None
        )
    carts = [cart for cart in claimed if cart.item_count]
    reachable = recoverable(carts)
    reachable_ids = {cart.pk for cart in reachable}
    CartSnapshot.objects.filter(pk__in=[cart.pk for cart in carts]).update(
        reachable=Case(When(pk__in=reachable_ids, then=True), default=False)
    )
    for cart in carts:
        cart.reachable = cart.pk in reachable_ids
    return carts, reachable, len(claimed)


def recoverable(carts):
    """The carts worth a reminder: with lines, a contact that can be reached, no order.

    Reachable means a granted marketing consent on some channel, or, in transactional
    mode, an email address given when the customer started checkout with this cart.
    """
    candidates = [c for c in carts if c.item_count and c.contact_id]
    ordered = set(
        TrackedOrder.objects.filter(cart__in=candidates).values_list("cart_id", flat=True)
    )
    consenting = set(
        Consent.objects.filter(
            contact_id__in={c.contact_id for c in candidates},
            purpose=Purpose.MARKETING,
            status=ConsentStatus.GRANTED,
        ).values_list("contact_id", flat=True)
    )
    transactional = omnichannel_settings.CART_RECOVERY_TRANSACTIONAL
    return [
        cart
        for cart in candidates
        if cart.pk not in ordered
        and (
            cart.contact_id in consenting
            or (transactional and cart.checkout_started_at and cart.contact.email)
        )
    ]


@transaction.atomic
def detect_abandoned(now=None, batch_size=None):
    """One detection batch: mark idle carts abandoned and enrol the recoverable ones.

    One transaction: a crash between marking and enrolling must not leave carts marked
    abandoned that no recovery will ever look at again.
    """
    now = now or timezone.now()
    report = DetectionReport(batches=1)
    size = batch_size or omnichannel_settings.CART_DETECTION_BATCH_SIZE
    carts, reachable, report.claimed = claim_idle(size, now)
    report.abandoned = len(carts)
    report.unreachable = len(carts) - len(reachable)
    if not reachable:
        return report
    entries = [
        Entry(
            contact=cart.contact,
            cart=cart,
            trigger_key=f"cart:{cart.uuid}",
            triggered_at=cart.last_activity_at + idle_time(),
        )
        for cart in reachable
    ]
    flows = Flow.objects.filter(status=FlowStatus.ACTIVE, trigger=Trigger.CART_ABANDONED)
    for flow in flows.prefetch_related("steps__variants"):
        report.enrolled += len(enroll_many(flow, entries))
    return report


def detect_all(time_budget=None):
    """Detection batches until no idle cart is left or the time budget is spent."""
    return run_batches(
        detect_abandoned,
        DetectionReport(),
        lambda batch: batch.claimed,
        time_budget or omnichannel_settings.CART_DETECTION_TIME_BUDGET_SECONDS,
        omnichannel_settings.CART_DETECTION_BATCH_SIZE,
    )
