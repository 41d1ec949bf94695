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
from django.db.models import BooleanField, Case, Exists, ExpressionWrapper, OuterRef, Q, Value, When
from django.utils import timezone

from ..conf import omnichannel_settings
from ..core import claims
from ..core.batches import Report, run_batches
from ..flows.engine import Entry, enroll_triggered
from ..models import CartSnapshot, Consent, Contact, TrackedOrder
from ..models.carts import CartStatus
from ..models.consent import ConsentStatus, Purpose
from ..models.flows import Trigger
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

    Returns ``(claimed, abandoned, reachable)``: how many idle carts were claimed, how many
    of them (those with lines) were marked abandoned, and those a reminder can reach, newest
    activity first (each cart records whether it was, for the dashboard). Called inside
    ``detect_abandoned``'s transaction: the row locks hold the carts until it commits, and a
    crash rolls the marks back with the enrollments. Idle carts without lines are not
    abandoned carts: the claim marks them expired instead (a later change opens them
    again), so they neither count as abandoned nor come back to every sweep.

    Everything is decided by the claim's one UPDATE over the claimed rows, which also
    returns them (``claims.claim_returning``), so a batch costs the same statements
    whatever its size; only the columns an enrollment needs come back.
    """
    empty = Q(item_count=0)
    claimed = claims.claim_returning(
        CartSnapshot.objects.filter(status=CartStatus.OPEN, last_activity_at__lt=now - idle_time()),
        limit=limit,
        order_by=("last_activity_at",),
        mark={
            "status": Case(
                When(empty, then=Value(CartStatus.EXPIRED)), default=Value(CartStatus.ABANDONED)
            ),
            "abandoned_at": Case(When(empty, then=None), default=Value(now)),
            "reachable": Case(When(empty, then=None), default=reachability()),
        },
        fields=ENTRY_FIELDS,
    )
    # Newest first: of a contact's two carts in one batch, the later one is enrolled.
    abandoned = [cart for cart in reversed(claimed) if cart.status == CartStatus.ABANDONED]
    return len(claimed), len(abandoned), [cart for cart in abandoned if cart.reachable]


# What enrolling a cart reads of it: its contact, the trigger's key and time, and what
# entry conditions and exit goals look at, and whether a reminder can reach it.
ENTRY_FIELDS = (
    "uuid", "contact_id", "item_count", "value", "status", "last_activity_at", "reachable",
)  # fmt: skip


def reachability():
    """Whether a reminder can reach an abandoned cart, as SQL over the cart's row.

    Reachable: a contact, no order (paid or awaiting payment) from the cart, and a granted
    marketing consent on some channel or, in transactional mode, an email address given
    when the customer started checkout with this cart.
    """
    consenting = Exists(
        Consent.objects.filter(
            contact=OuterRef("contact"), purpose=Purpose.MARKETING, status=ConsentStatus.GRANTED
        )
    )
    reach = Q(consenting)
    if omnichannel_settings.CART_RECOVERY_TRANSACTIONAL:
        with_email = Exists(Contact.objects.filter(pk=OuterRef("contact"), email__gt=""))
        reach |= Q(checkout_started_at__isnull=False) & Q(with_email)
    ordered = Exists(TrackedOrder.objects.filter(cart=OuterRef("pk")))
    return ExpressionWrapper(
        Q(contact__isnull=False) & ~Q(ordered) & reach, output_field=BooleanField()
    )


@transaction.atomic
def detect_abandoned(now=None, batch_size=None):
    """One detection batch: mark idle carts abandoned and enrol the recoverable ones.

    One transaction: a crash between marking and enrolling must not leave carts marked
    abandoned that no recovery will ever look at again.
    """
    now = now or timezone.now()
    report = DetectionReport(batches=1)
    size = batch_size or omnichannel_settings.CART_DETECTION_BATCH_SIZE
    report.claimed, report.abandoned, reachable = claim_idle(size, now)
    report.unreachable = report.abandoned - len(reachable)
    if not reachable:
        return report
    idle = idle_time()
    entries = [
        Entry(
            contact=None,
            contact_id=cart.contact_id,
            cart=cart,
            trigger_key=f"cart:{cart.uuid}",
            triggered_at=cart.last_activity_at + idle,
            trigger=Trigger.CART_ABANDONED,
        )
        for cart in reachable
    ]
    report.enrolled += enroll_triggered(Trigger.CART_ABANDONED, entries)
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
