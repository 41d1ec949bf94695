"""The win-back sweep on PostgreSQL: sweepers running at once share the due lapses
(``SKIP LOCKED``) and enrol each buyer once."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from omnichannel.carts.winback import detect_lapsed
from omnichannel.contacts.consent import grant_consent
from omnichannel.flows.defaults import install_defaults
from omnichannel.models import Contact, Enrollment, Flow, TrackedOrder

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BUYERS = 300


def lapsed_buyers(count):
    placed = timezone.now() - timedelta(days=100)
    contacts = Contact.objects.bulk_create(
        Contact(email=f"buyer{number}@example.com") for number in range(count)
    )
    for contact in contacts:
        grant_consent(contact, "email", source="test", wording="Test consent")
    TrackedOrder.objects.bulk_create(
        TrackedOrder(
            order_key=f"order-{contact.pk}",
            contact=contact,
            total=Decimal("20"),
            currency="EUR",
            placed_at=placed,
            lapses_at=placed + timedelta(days=90),
        )
        for contact in contacts
    )


def test_sweepers_at_once_share_the_lapses_and_enrol_each_buyer_once():
    assert connection.vendor == "postgresql"
    install_defaults(activate=True)
    Flow.objects.update(activated_at=timezone.now() - timedelta(days=400))
    lapsed_buyers(BUYERS)
    claimed, start = [], threading.Barrier(3)

    def sweep():
        start.wait()
        try:
            while report := detect_lapsed(batch_size=20):
                if not report.claimed:
                    break
                claimed.append(report.claimed)
        finally:
            connection.close()

    sweepers = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in sweepers:
        thread.start()
    for thread in sweepers:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in sweepers)
    assert sum(claimed) == BUYERS  # no lapse claimed twice, none left
    winbacks = Enrollment.objects.filter(flow__slug="win-back")
    assert winbacks.count() == BUYERS
    assert winbacks.values("contact").distinct().count() == BUYERS
    assert not TrackedOrder.objects.filter(lapses_at__isnull=False).exists()
