"""Factories for the app's models, usable in a shop's own tests without factory_boy.

from omnichannel.testing.factories import ContactFactory, CartSnapshotFactory
contact = ContactFactory(email="ann@example.com")
"""

import itertools
from decimal import Decimal

from django.utils import timezone

from ..consent import grant_consent
from ..models import CartSnapshot, Contact

_sequence = itertools.count(1)


def ContactFactory(*, consents=(), **fields):
    """A saved contact with a unique email; ``consents`` lists channels to grant."""
    number = next(_sequence)
    fields.setdefault("email", f"customer{number}@example.com")
    contact = Contact.objects.create(**fields)
    for channel in consents:
        grant_consent(contact, channel, source="factory", wording="Test consent")
    return contact


def CartSnapshotFactory(*, lines=None, **fields):
    """A saved open cart with one line unless ``lines`` (a list of dicts) is given."""
    number = next(_sequence)
    if lines is None:
        lines = [
            {"product_id": "1", "name": "Mug", "quantity": 2, "unit_price": "12.50", "sku": "MUG"}
        ]
    fields.setdefault("cart_key", f"cart-{number}")
    fields.setdefault("currency", "EUR")
    fields.setdefault("last_activity_at", timezone.now())
    fields.setdefault(
        "value", sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
    )
    fields.setdefault("item_count", sum(line["quantity"] for line in lines))
    return CartSnapshot.objects.create(lines=lines, **fields)
