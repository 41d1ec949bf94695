"""An erased contact in the webhook deliveries: nothing of theirs stays stored.

Run inside the erasure's transaction (``omnichannel.contacts.privacy.erasure``): every
delivery whose payload names the contact loses its payload; the ones not yet delivered are
cancelled, since their body can no longer be sent. A delivery being posted at that very
moment has left already; its result is not recorded over the cancellation.
"""

from ..models import WebhookDelivery
from ..models.webhooks import DeliveryStatus

ERASED = "Not sent: the contact was erased."

UNSENT = (DeliveryStatus.PENDING, DeliveryStatus.DELIVERING, DeliveryStatus.FAILED)


def erase_deliveries(contact_uuid):
    """Scrub and cancel the contact's deliveries; returns how many were touched."""
    theirs = WebhookDelivery.objects.filter(contact_uuid=contact_uuid)
    cancelled = theirs.filter(status__in=UNSENT).update(
        status=DeliveryStatus.CANCELLED,
        payload={},
        last_response="",
        last_error=ERASED,
        locked_by="",
        locked_until=None,
        contact_uuid=None,
    )
    # The rest were delivered: their history stays, without the payload.
    scrubbed = theirs.update(payload={}, last_response="", contact_uuid=None)
    return cancelled + scrubbed


def is_erased(delivery):
    return delivery.payload == {}
