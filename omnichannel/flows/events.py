"""Custom events from the shop: the public way to start a custom flow."""

from django.utils import timezone

from ..integrations.safety import never_raises
from ..models.flows import Trigger
from .engine import trigger


@never_raises
def track_event(name, contact, *, key=None, properties=None, occurred_at=None):
    """Record that ``contact`` did ``name`` (e.g. "wishlist_added"); starts custom flows.

    ``key`` makes the event idempotent (the same key enrols once); by default every call
    is a new event. ``properties`` (JSON) reach the flow's templates as ``trigger``.
    Returns the enrollments created (None on failure). Writes in the caller's request, in a
    savepoint of its own: a failure here never aborts the shop's transaction.
    """
    occurred_at = occurred_at or timezone.now()
    key = key or f"{name}:{contact.pk}:{occurred_at.isoformat()}"
    return trigger(
        Trigger.CUSTOM_EVENT,
        contact,
        key=f"event:{key}",
        triggered_at=occurred_at,
        event=name,
        context=properties or {},
    )
