"""The flow sweeper runs on its own settings, not the dispatcher's."""

from datetime import timedelta

import pytest
from django.utils import timezone

from omnichannel.flows.engine import advance_all, advance_due, claim, enroll
from omnichannel.models import Enrollment
from omnichannel.testing.factories import ContactFactory

pytestmark = pytest.mark.django_db

DISPATCHER_ONLY = {"DISPATCH_BATCH_SIZE": 500, "DISPATCH_LEASE_SECONDS": 900}


@pytest.fixture
def due(welcome):
    for n in range(5):
        enroll(welcome, ContactFactory(consents=["email"]), trigger_key=f"signup:{n}")


def test_the_sweeper_claims_flow_batch_size_enrollments(due, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, **DISPATCHER_ONLY, "FLOW_BATCH_SIZE": 2}
    assert advance_due().claimed == 2
    # 2 + 1: a batch of FLOW_BATCH_SIZE is full, so the sweep goes on (a batch of 2 out of
    # the dispatcher's 500 would have ended it).
    report = advance_all()
    assert (report.claimed, report.queued) == (3, 3)


def test_a_claim_lasts_flow_lease_seconds(due, settings):
    settings.OMNICHANNEL = {**settings.OMNICHANNEL, **DISPATCHER_ONLY, "FLOW_LEASE_SECONDS": 30}
    now = timezone.now()
    ids = claim("worker-1", 10, now)
    leases = set(Enrollment.objects.filter(pk__in=ids).values_list("locked_until", flat=True))
    assert leases == {now + timedelta(seconds=30)}
