"""Erasing a contact on request (GDPR art. 17): the person goes, the figures stay.

In one transaction, in this order:

1. Pending messages are cancelled and active enrollments exited ("erased") before
   anything is anonymised, so nothing half-erased can still go out.
2. Messages are anonymised and moved to the erased-contacts placeholder: what was sent,
   the address, the template context and the errors are blanked; channel, status,
   timestamps, step, segments and cost stay, so counts per channel and status, costs and
   per-step figures hold. Each message gets a new uuid and loses its provider id: a late
   provider event (someone opening an old email) no longer matches it, so no address or
   IP comes back with it. A message already handed to a provider loses its lease, so the
   worker sending it cannot write the address back; it stays "sending". Delivery events
   keep their kind and time, and lose their detail, provider id and raw payload.
3. Carts (theirs, and those of their anonymous visitor id) keep value, item count and
   status, and lose lines, contact and visitor id. Orders keep their totals and lose the
   contact. Replies lose text, sender and payload. Popup events lose the contact, so
   popup impressions and submissions still add up.
4. Admin log entries naming the contact (by email, phone, or as the contact) are renamed.
   Outgoing webhook deliveries about the contact lose their payload, and those not yet
   delivered are cancelled (``omnichannel.outgoing.erasure``).
5. The contact row is deleted, and with it its consents and consent ledger, enrollments,
   popup signups and push subscriptions.
6. An ``Erasure`` record is written (the uuid, never an address), and ``contact_erased``
   is sent after commit.

Deleted, not blanked, because the contact row is what a browser session, a shop user and
identity merges point at: a blank row left behind would be filled again by the person's
next visit and merged into a new contact, linking the old history to them again.

The consent ledger is deleted too: it proves the consent for messages we send, and after
erasure we send none and keep nothing of those sent; it holds IPs and user agents that
the Erasure record does not need. Suppressions of the person's addresses are kept (only
unlinked): they record an objection (a STOP, a complaint, a bounce) that must outlive the
contact, or a re-import of an old list would message the person again. This is the
legitimate interest GDPR art. 17(3) and 21 leave room for; the README says so.
"""

import uuid
from collections import defaultdict

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ... import signals
from ...core.db import update_rows
from ...flows.engine import exit_enrollments
from ...models import (
    CartSnapshot,
    Contact,
    DeliveryEvent,
    Enrollment,
    Erasure,
    InboundMessage,
    Message,
    PopupEvent,
    ProductView,
    Suppression,
    TrackedOrder,
    WebhookDelivery,
)
from ...models.flows import EnrollmentState
from ...models.privacy import ERASED_CONTACT_UUID
from ...outbox.queueing import cancel_pending
from ...outgoing.erasure import erase_deliveries
from . import Footprint

# Messages rewritten per statement.
CHUNK_SIZE = 500

ANONYMISED_MESSAGE_FIELDS = [
    "uuid", "idempotency_key", "contact", "content", "context", "rendered", "to",
    "last_error", "provider_message_id", "locked_by", "locked_until", "updated_at",
]  # fmt: skip

# What was done to the rows, in the order ``describe`` lists it.
VERBS = {
    "cancelled": _("cancelled"),
    "exited": _("exited"),
    "anonymised": _("anonymised"),
    "unlinked": _("unlinked"),
    "kept": _("kept"),
    "scrubbed": _("renamed"),
    "deleted": _("deleted"),
}


def erase_contact(contact, *, by):
    """Erase ``contact`` as the module docstring says; returns the ``Erasure`` record.

    ``by`` names who asked: a staff username, or "the contact" for a self-service request.
    """
    if contact.uuid == ERASED_CONTACT_UUID:
        raise ValueError("The erased-contacts placeholder is no one: there is nothing to erase.")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        identity = {"email": contact.email, "phone": contact.phone, "user_id": contact.user_id}
        footprint = Footprint(contact)
        counts = defaultdict(dict)
        counts["cancelled"][label(Message)] = cancel_pending(
            contact=contact, reason="contact erased"
        )
        active = contact.enrollments.filter(state=EnrollmentState.ACTIVE)
        counts["exited"][label(Enrollment)] = exit_enrollments(list(active), "erased")
        counts["anonymised"].update(anonymise_messages(contact))
        counts["anonymised"][label(InboundMessage)] = footprint.inbound_messages().update(
            contact=None, from_address="", body="", raw={}
        )
        counts["anonymised"][label(CartSnapshot)] = footprint.carts().update(
            contact=None, visitor_id=None, lines=[]
        )
        # Browsing history is theirs alone and useful to no one else: deleted, including
        # the views made before they were known.
        viewed, _by_model = footprint.product_views().delete()
        counts["unlinked"][label(TrackedOrder)] = contact.orders.update(contact=None)
        counts["unlinked"][label(PopupEvent)] = contact.popup_events.update(contact=None)
        counts["kept"][label(Suppression)] = footprint.suppressions().update(contact=None)
        counts["scrubbed"]["admin.LogEntry"] = scrub_admin_log(contact)
        counts["scrubbed"][label(WebhookDelivery)] = erase_deliveries(contact.uuid)
        _total, counts["deleted"] = contact.delete()
        if viewed:
            counts["deleted"][label(ProductView)] = viewed
        erasure = Erasure.objects.create(
            contact_uuid=contact.uuid, erased_by=by[:150], counts=dict(counts)
        )
    transaction.on_commit(
        lambda: signals.contact_erased.send(sender=Erasure, erasure=erasure, **identity)
    )
    return erasure


def label(model):
    return model._meta.label


def erased_contacts():
    """The placeholder that keeps erased contacts' messages (created on first use)."""
    contact, _created = Contact.objects.get_or_create(
        uuid=ERASED_CONTACT_UUID, defaults={"first_name": "(erased contacts)", "source": "erasure"}
    )
    return contact


def anonymise_messages(contact):
    """Blank the personal parts of the contact's messages and events; returns the counts."""
    placeholder, now = erased_contacts(), timezone.now()
    ids = list(contact.messages.values_list("pk", flat=True))
    events = 0
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start : start + CHUNK_SIZE]
        events += DeliveryEvent.objects.filter(message_id__in=chunk).update(
            detail="", raw={}, provider_event_id=None
        )
        update_rows([anonymised(pk, placeholder, now) for pk in chunk], ANONYMISED_MESSAGE_FIELDS)
    return {label(Message): len(ids), label(DeliveryEvent): events}


def anonymised(pk, placeholder, now):
    new_uuid = uuid.uuid4()
    return Message(
        pk=pk,
        uuid=new_uuid,
        idempotency_key=f"erased:{new_uuid}",
        contact=placeholder,
        content={},
        context={},
        rendered={},
        to="",
        last_error="",
        provider_message_id="",
        locked_by="",
        locked_until=None,
        updated_at=now,
    )


def scrub_admin_log(contact):
    """Rename admin history entries that name the contact; returns how many.

    The admin records each change under the object's ``str()``: the contact's email or
    phone, and messages and suppressions quoting them.
    """
    if not apps.is_installed("django.contrib.admin"):
        return 0
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    query = Q(content_type=ContentType.objects.get_for_model(Contact), object_id=str(contact.pk))
    for value in (contact.email, contact.phone):
        if value:
            query |= Q(object_repr__icontains=value)
    return LogEntry.objects.filter(query).update(object_repr=f"(erased contact {contact.uuid})")


def describe(counts):
    """One line per kind of row and what was done to it, e.g. "messages: 3 anonymised"."""
    lines = []
    for verb, done in VERBS.items():
        for model_label, count in sorted(counts.get(verb, {}).items()):
            if count:
                lines.append(f"{verbose_name_plural(model_label)}: {count} {done}")
    return lines


def verbose_name_plural(model_label):
    try:
        return str(apps.get_model(model_label)._meta.verbose_name_plural)
    except LookupError:
        return model_label
