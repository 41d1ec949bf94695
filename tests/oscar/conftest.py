"""The oscar tier: a real django-oscar shop driven through its own views.

These tests need django-oscar and the shop project's settings (``tests.oscar.settings``):
``tests/run oscar`` runs them. Under any other settings they are not collected at all.
"""

from decimal import Decimal

import pytest
from django.conf import settings

collect_ignore_glob = (
    [] if "omnichannel.contrib.oscar" in settings.INSTALLED_APPS else ["test_*.py", "shop.py"]
)


@pytest.fixture(autouse=True)
def _outbox(settings):
    """Every channel on the in-memory backend, no frequency caps (each test says why)."""
    from omnichannel.channels import locmem

    backend = "omnichannel.channels.locmem.LocmemBackend"
    settings.OMNICHANNEL = {
        **settings.OMNICHANNEL,
        "CHANNEL_BACKENDS": dict.fromkeys(("email", "inbox"), backend),
    }
    locmem.clear()
    yield locmem.outbox
    locmem.clear()


@pytest.fixture
def catalogue(db):
    """Two products for sale and a shipping country: enough for Oscar's checkout."""
    from oscar.apps.address.models import Country
    from oscar.test.factories import create_product

    Country.objects.create(
        iso_3166_1_a2="GB", iso_3166_1_a3="GBR", name="United Kingdom", is_shipping_country=True
    )
    mug = create_product(title="Mug", price=Decimal("12.50"), num_in_stock=50, partner_sku="MUG")
    tee = create_product(title="Tee", price=Decimal("20.00"), num_in_stock=50, partner_sku="TEE")
    return {"mug": mug, "tee": tee}
