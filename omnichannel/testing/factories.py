"""Factories for the app's models, usable in a shop's own tests without factory_boy.

from omnichannel.testing.factories import ContactFactory, CartSnapshotFactory, PopupFactory
contact = ContactFactory(email="ann@example.com")
popup = PopupFactory(gift="percent", discount_value=10)
"""

import itertools
from decimal import Decimal

from django.utils import timezone

from ..contacts.consent import grant_consent
from ..models import CartSnapshot, Contact, Popup, PopupVariant
from ..models.popups import PopupStatus

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


def PopupFactory(*, variants=None, **fields):
    """A saved active popup on every page, with one variant unless ``variants`` (a list
    of dicts of variant fields) is given. Its variants offer an email consent."""
    number = next(_sequence)
    fields.setdefault("name", f"Popup {number}")
    fields.setdefault("slug", f"popup-{number}")
    fields.setdefault("status", PopupStatus.ACTIVE)
    fields.setdefault("url_exclude", "")
    fields.setdefault("hide_from_customers", False)
    popup = Popup.objects.create(**fields)
    for position, variant_fields in enumerate(variants or [{}]):
        PopupVariant.objects.create(
            popup=popup,
            **{
                "name": chr(ord("A") + position),
                "headline": "Get 10 % off your first order",
                "email_consent_text": "Yes, email me offers and news. I can unsubscribe anytime.",
                "sms_consent_text": "Yes, text me offers. Reply STOP to opt out.",
                "success_headline": "Welcome aboard!",
                **variant_fields,
            },
        )
    return popup
