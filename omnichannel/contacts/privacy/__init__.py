"""Privacy requests (export, erasure) and retention: what the app holds about a person.

``export`` writes everything about a contact as JSON, ``erasure`` anonymises or deletes
it, ``retention`` purges old history on a schedule. Export and erasure read the same
``Footprint``, so a person never gets back less than what erasing them would remove.
"""

import uuid as uuid_module

from django.core.exceptions import ValidationError
from django.db.models import Q

from ...core.normalize import normalize_email, normalize_phone
from ...models import CartSnapshot, Contact, InboundMessage, ProductView, Suppression
from ...models.channels import Channel
from ...models.privacy import ERASED_CONTACT_UUID

# The ways staff name the person a request is about.
IDENTIFIERS = ("email", "phone", "uuid")


def find_contact(*, email=None, phone=None, uuid=None):
    """The one contact that every identifier given names.

    Raises ``LookupError`` with a message staff can act on: nothing given, a value that
    cannot be an email / phone / uuid, no such contact, or identifiers naming two different
    contacts (e.g. an email contact and a phone contact never merged: handle each).
    """
    wanted = {}
    if email and email.strip():
        wanted["email"] = normalize_email(email)
    if phone and phone.strip():
        try:
            wanted["phone"] = normalize_phone(phone)
        except ValidationError as exc:
            raise LookupError(f"Phone {phone!r}: {' '.join(exc.messages)}") from exc
    if uuid and uuid.strip():
        try:
            wanted["uuid"] = uuid_module.UUID(uuid.strip())
        except ValueError as exc:
            raise LookupError(f"{uuid!r} is not a contact uuid.") from exc
    if not wanted:
        raise LookupError("Name the contact by email, phone or uuid.")
    found = {}
    for name, value in wanted.items():
        contact = Contact.objects.exclude(uuid=ERASED_CONTACT_UUID).filter(**{name: value}).first()
        if contact is None:
            raise LookupError(f"No contact has the {name} {value}.")
        found[name] = contact
    if len({contact.pk for contact in found.values()}) > 1:
        named = ", ".join(f"{name} -> contact {c.uuid}" for name, c in found.items())
        raise LookupError(f"These identifiers name different contacts ({named}): one at a time.")
    return next(iter(found.values()))


class Footprint:
    """Where one contact's data lives beyond the rows that point at the contact.

    Carts they filled and products they viewed before they were known (same anonymous
    visitor id), replies sent
    from their phone before it was on a contact, and suppressions of their addresses,
    which are keyed on the address rather than on the contact.
    """

    def __init__(self, contact):
        self.contact = contact
        self.visitor_ids = list(
            contact.carts.exclude(visitor_id=None).values_list("visitor_id", flat=True)
        )
        self.endpoints = list(contact.push_subscriptions.values_list("endpoint", flat=True))

    def carts(self):
        return CartSnapshot.objects.filter(
            Q(contact=self.contact) | Q(visitor_id__in=self.visitor_ids)
        )

    def product_views(self):
        """What they looked at: as a contact, and as the visitor they were before."""
        return ProductView.objects.filter(
            Q(contact=self.contact) | Q(visitor_id__in=self.visitor_ids)
        )

    def inbound_messages(self):
        query = Q(contact=self.contact)
        if self.contact.phone:
            query |= Q(from_address=self.contact.phone)
        return InboundMessage.objects.filter(query)

    def suppressions(self):
        query = Q(contact=self.contact) | Q(channel=Channel.PUSH, address__in=self.endpoints)
        if self.contact.email:
            query |= Q(channel=Channel.EMAIL, address=self.contact.email)
        if self.contact.phone:
            query |= Q(channel__in=(Channel.SMS, Channel.WHATSAPP), address=self.contact.phone)
        return Suppression.objects.filter(query)
