"""The services tier: PostgreSQL, a Redis broker and real Celery worker processes.

The broker is ``TEST_BROKER_URL`` (or a Redis ``CELERY_BROKER_URL``) when one is given,
else a redis-server this session starts on a free port and ends when it is over. Every
worker runs in its own process group and is ended with everything it forked, whatever
the test did to it.
"""

import os
import sys
import uuid
from pathlib import Path

import pytest
from celery import current_app
from django.db import connection

from tests.processes import end_group, kill_group, running_in_group, start, wait_until

from .redis_server import RedisServer

__all__ = ["wait_until"]  # the tests import it from here

ROOT = Path(__file__).resolve().parents[2]


def given_broker_url():
    """The Redis the caller asked the tier to use, or None to start one of its own."""
    url = os.environ.get("TEST_BROKER_URL") or os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith("redis") else None


class Worker:
    """One ``celery worker`` process (optionally with embedded beat) and its group."""

    def __init__(self, process, log):
        self.process, self.log = process, log

    @property
    def pgid(self):
        return self.process.pid

    def processes(self):
        """PIDs of the worker and its children (the embedded beat) still running."""
        return running_in_group(self.pgid)

    def kill(self):
        """SIGKILL the worker and its beat: no cleanup, no acknowledgement, like a machine
        losing power."""
        kill_group(self.process)

    def stop(self):
        """SIGTERM the group, SIGKILL what is left; also after the leader alone was killed."""
        end_group(self.process, timeout=20)


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory):
    """The broker the workers use: the given Redis, or a private redis-server."""
    if url := given_broker_url():
        yield url
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def worker_queue():
    return f"omnichannel-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def publish(broker_url):
    """``publish(task, **options)``: send ``task`` to the workers' broker.

    The test process keeps its own broker setting (the in-memory one unless a URL was
    given), so a test that needs a worker to run a task sends it here explicitly.
    """

    def send(task, **options):
        with current_app.connection_for_write(broker_url) as broker:
            return task.apply_async(connection=broker, **options)

    return send


@pytest.fixture
def start_worker(transactional_db, broker_url, worker_queue, tmp_path):
    """Start worker processes on the broker and the test's PostgreSQL database.

    Each reads the test's own queue, so nothing left in the broker by another run reaches
    it. The test commits its data (transactional_db) so the workers see it. ``broker=``
    points a worker at another broker (the broker-down scenario's private one).
    """
    started = []
    database = connection.settings_dict

    def start_one(settings="tests.settings", beat=False, env=None, broker=None):
        number = len(started) + 1
        log = tmp_path / f"worker-{number}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "OMNICHANNEL_TEST_QUEUE": worker_queue,
            "CELERY_BROKER_URL": broker or broker_url,
            "DATABASE_URL": (
                f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                f"{database['NAME']}"
            ),
            **(env or {}),
        }
        command = [
            sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker", "--pool=solo",
            "-Q", worker_queue, "-n", f"worker{number}-{worker_queue}@%h",
            "--without-gossip", "--without-mingle", "--loglevel=info",
        ]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(tmp_path / f"beat-{number}")]
        worker = Worker(start(command, log=log, cwd=ROOT, env=environment), log)
        started.append(worker)
        wait_until(lambda: "ready." in log.read_text(), timeout=60, what="worker start", logs=[log])
        return worker

    try:
        yield start_one
    finally:
        for worker in started:
            worker.stop()


@pytest.fixture
def celery_worker(start_worker):
    return start_worker()


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server for this test alone, to stop and start: never the given broker."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
