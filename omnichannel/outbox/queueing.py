"""Putting messages in the outbox and taking them out again.

Enqueueing only writes a row; the dispatcher sends it. The wake-up task is sent after
the transaction commits, and losing it loses nothing: the beat sweep finds the row anyway.
"""

import logging

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import DeliveryEvent, Message
from ..models.consent import Purpose
from ..models.messages import DeliveryEventKind, MessageStatus
from ..outbox.status import STOPPABLE
from .tasks import dispatch_due

logger = logging.getLogger(__name__)

WAKE_CACHE_KEY = "omnichannel:dispatch-wake"


def enqueue(
    contact,
    channel,
    content,
    *,
    idempotency_key,
    context=None,
    purpose=Purpose.MARKETING,
    source="",
    scheduled_at=None,
    expires_at=None,
    priority=0,
):
    """Queue a message; returns ``(message, created)``.

    Enqueueing the same ``idempotency_key`` twice returns the first message untouched.
    """
    values = {
        "contact": contact,
        "channel": channel,
        "content": content,
        "context": context or {},
        "purpose": purpose,
        "source": source,
        "scheduled_at": scheduled_at or timezone.now(),
        "expires_at": expires_at,
        "priority": priority,
    }
    try:
        with transaction.atomic():
            message = Message.objects.create(idempotency_key=idempotency_key, **values)
    except IntegrityError:
        return Message.objects.get(idempotency_key=idempotency_key), False
    transaction.on_commit(wake_dispatcher)
    return message, True


def wake_dispatcher():
    """Ask a worker to sweep now rather than at the next beat: best effort, once a second.

    Enqueueing ten thousand messages sends one wake-up, not ten thousand.
    """
    if not cache.add(WAKE_CACHE_KEY, True, timeout=1):
        return
    try:
        dispatch_due.apply_async(retry=False)
    except Exception as exc:  # the broker is down: the beat sweep finds the message later
        logger.warning("omnichannel: could not wake the dispatcher: %s", exc)


def cancel_pending(*, contact=None, contacts=None, channel=None, reason, extra=None):
    """Cancel messages not yet handed to a provider; returns how many.

    Used when a contact unsubscribes (that channel), says STOP, orders (cart recovery), or
    is erased. A message already claimed but not yet handed to the provider is cancelled
    too: the dispatcher re-reads its status inside the claim before sending.
    """
    query = Q(status__in=STOPPABLE, handed_at__isnull=True)
    if contact is not None:
        query &= Q(contact=contact)
    if contacts is not None:
        query &= Q(contact__in=contacts)
    if channel is not None:
        query &= Q(channel=channel)
    if extra is not None:
        query &= extra
    now = timezone.now()
    with transaction.atomic():
        ids = list(Message.objects.select_for_update().filter(query).values_list("pk", flat=True))
        Message.objects.filter(pk__in=ids).update(
            status=MessageStatus.CANCELLED, last_error=reason, locked_until=None, updated_at=now
        )
        DeliveryEvent.objects.bulk_create(
            [
                DeliveryEvent(
                    message_id=pk, kind=DeliveryEventKind.CANCELLED, detail=reason, occurred_at=now
                )
                for pk in ids
            ]
        )
    return len(ids)
