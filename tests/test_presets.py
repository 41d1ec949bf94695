from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.utils import timezone

from omnichannel.carts.recovery import detect_abandoned
from omnichannel.conf import omnichannel_settings
from omnichannel.presets import EU_STRICT
from omnichannel.testing.factories import CartSnapshotFactory, ContactFactory

from .flows.conftest import make_flow

pytestmark = pytest.mark.django_db


def test_eu_strict_is_accepted_and_reminds_only_consented_contacts(settings):
    settings.OMNICHANNEL = {**EU_STRICT, **settings.OMNICHANNEL}
    assert [m.id for m in run_checks(tags=["omnichannel"])] == []
    assert omnichannel_settings.CART_RECOVERY_TRANSACTIONAL is False
    assert omnichannel_settings.RETENTION_DAYS["cart_snapshots"] == 90
    make_flow(slug="cart", kind="cart_recovery", trigger="cart_abandoned")
    idle = timezone.now() - timedelta(hours=1)
    CartSnapshotFactory(contact=ContactFactory(), last_activity_at=idle)  # no consent
    CartSnapshotFactory(contact=ContactFactory(consents=["email"]), last_activity_at=idle)
    assert detect_abandoned().enrolled == 1


def test_settings_after_the_preset_win(settings):
    settings.OMNICHANNEL = {**EU_STRICT, **settings.OMNICHANNEL, "CART_IDLE_MINUTES": 45}
    assert omnichannel_settings.CART_IDLE_MINUTES == 45
