"""Per-sender pacing: a long code sends about one SMS segment a second.

Each sender has a row holding the next free moment. Reserving slots for a batch locks that
row once, hands out consecutive slots, and moves it forward, so any number of workers
share one pace. A message whose slot is later than this sweep can use waits (deferred to
its slot) instead of piling onto the provider's queue.
"""

import datetime as dt

from django.db import transaction

from ..models import SenderSlot


def reserve(sender, weights, rate, now, horizon):
    """Slots for messages of ``weights`` (SMS segments) on ``sender`` at ``rate`` per second.

    Returns one datetime per weight. Slots at or before ``now + horizon`` may be used now;
    the messages beyond get the next free slot to wait for, unreserved: a message that
    waits does not hold a slot it may never use, and reserves again when it is due.
    """
    step = dt.timedelta(seconds=1 / rate)
    limit = now + horizon
    with transaction.atomic():
        slot_row, _ = SenderSlot.objects.select_for_update().get_or_create(
            sender=sender, defaults={"next_slot_at": now}
        )
        cursor = max(slot_row.next_slot_at, now)
        slots = []
        for weight in weights:
            slots.append(cursor)
            if cursor <= limit:
                cursor += step * weight
        slot_row.next_slot_at = cursor
        slot_row.save(update_fields=["next_slot_at"])
    return slots
