"""A real Celery worker, a Redis broker and PostgreSQL, end to end; and a worker's
processes end with the test, however it ended."""

import os
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


def test_worker_runs_the_sweep_against_the_database(celery_worker, worker_queue, publish):
    old = timezone.now() - timedelta(days=45)
    stale = [CartSnapshotFactory(last_activity_at=old) for _ in range(3)]
    fresh = CartSnapshotFactory()

    publish(expire_stale_carts, queue=worker_queue)

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


def started_with_beat(start_worker):
    """A worker with embedded beat, once its beat child process runs."""
    worker = start_worker(beat=True)
    wait_until(
        lambda: len(worker.processes()) >= 2, timeout=30, what="the beat child", logs=[worker.log]
    )
    return worker


def group_gone(pgid):
    """No process of the group is left at all, not even one waiting to be collected."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_beat_of_a_worker_killed_alone_is_ended_by_the_teardown(start_worker):
    worker = started_with_beat(start_worker)
    beat = set(worker.processes()) - {worker.pgid}
    worker.process.kill()  # the leader only, as the kernel's OOM killer would
    worker.process.wait(timeout=10)
    assert beat and beat <= set(worker.processes()), "the orphaned beat should still run"

    worker.stop()  # what the start_worker fixture does when the test ends

    assert worker.processes() == []
    # The orphan's exit status is collected by init: then the group is empty.
    wait_until(lambda: group_gone(worker.pgid), timeout=15, what="the process group to empty")


def test_kill_takes_the_embedded_beat_with_it(start_worker):
    worker = started_with_beat(start_worker)
    worker.kill()
    wait_until(lambda: worker.processes() == [], timeout=5, what="the whole group to die")
