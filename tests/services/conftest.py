"""The services tier: PostgreSQL, Redis and real Celery worker processes."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def wait_until(condition, *, timeout, what, logs=(), interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    detail = "".join(f"\n--- {log.name} ---\n{log.read_text()[-6000:]}" for log in logs)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")


class Worker:
    """One ``celery worker`` process (optionally with embedded beat)."""

    def __init__(self, process, log):
        self.process, self.log = process, log

    def kill(self):
        """SIGKILL: no cleanup, no acknowledgement, like a machine losing power."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_queue():
    return f"omnichannel-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def start_worker(transactional_db, worker_queue, tmp_path):
    """Start worker processes on the Redis broker and the test's PostgreSQL database.

    Each reads the test's own queue, so nothing left in Redis by another run reaches it.
    The test commits its data (transactional_db) so the workers see it.
    """
    started = []
    database = connection.settings_dict

    def start(settings="tests.settings", beat=False, env=None):
        number = len(started) + 1
        log = tmp_path / f"worker-{number}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "OMNICHANNEL_TEST_QUEUE": worker_queue,
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
        with log.open("w") as log_file:
            process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT
            )
        worker = Worker(process, log)
        started.append(worker)
        wait_until(lambda: "ready." in log.read_text(), timeout=60, what="worker start", logs=[log])
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(start_worker):
    return start_worker()


@pytest.fixture
def redis_control():
    """Stop and start the Redis server; it is always running again after the test."""

    class Control:
        def stop(self):
            subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False)
            wait_until(lambda: not self.up(), timeout=10, what="Redis to stop")

        def start(self):
            subprocess.run(REDIS_START, check=True)
            wait_until(self.up, timeout=20, what="Redis to start")

        def up(self):
            result = subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True)
            return result.stdout.strip() == b"PONG"

    control = Control()
    yield control
    if not control.up():
        control.start()
