"""The services tier: PostgreSQL, Redis and a real Celery worker process."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_queue():
    return f"omnichannel-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def celery_worker(transactional_db, worker_queue, tmp_path):
    """A real ``celery worker`` process on the Redis broker and the test database.

    It reads its own queue, so nothing left in Redis by another run reaches it, and it
    talks to the same (test) PostgreSQL database as the test, which commits its data.
    """
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
    }
    log = tmp_path / "worker.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker",
             "--pool=solo", "-Q", worker_queue, "--without-gossip", "--without-mingle",
             "--loglevel=info"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until(
                lambda: "ready." in log.read_text(), timeout=60, what="worker start", log=log
            )
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until(condition, *, timeout, what, log=None, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    detail = f"\n--- worker log ---\n{log.read_text()}" if log else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
