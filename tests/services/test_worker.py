"""A real Celery worker, a Redis broker and PostgreSQL, end to end."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from omnichannel.models import CartSnapshot
from omnichannel.tasks import expire_stale_carts
from omnichannel.testing.factories import CartSnapshotFactory

from .conftest import wait_until

pytestmark = pytest.mark.services


def test_runs_on_postgresql():
    assert connection.vendor == "postgresql"


def test_worker_runs_the_sweep_against_the_database(celery_worker, worker_queue):
    old = timezone.now() - timedelta(days=45)
    stale = [CartSnapshotFactory(last_activity_at=old) for _ in range(3)]
    fresh = CartSnapshotFactory()

    expire_stale_carts.apply_async(queue=worker_queue)

    wait_until(
        lambda: CartSnapshot.objects.filter(status="expired").count() == 3,
        timeout=30,
        what="the worker to expire the stale carts",
        logs=[celery_worker.log],
    )
    assert set(CartSnapshot.objects.filter(status="expired").values_list("pk", flat=True)) == {
        cart.pk for cart in stale
    }
    assert CartSnapshot.objects.get(pk=fresh.pk).status == "open"
