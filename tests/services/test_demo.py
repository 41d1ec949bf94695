"""``sample_shop/demo.sh`` as a visitor runs it: no broker, sends what falls due, and stops
with every process it started on SIGTERM.

The demo's old default, kombu's filesystem transport, died after 23 idle minutes on a
half-written message file. The default now has no broker to break: ``celery beat`` runs
each periodic task itself, so the only file the demo writes is its SQLite database.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import (
    end_group,
    end_group_of,
    free_port,
    groups_of_children,
    running_in_group,
    start,
)

from .conftest import wait_until

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
STOP_BOUND_SECONDS = 15


class Demo:
    def __init__(self, var_dir, log):
        self.var_dir, self.log = var_dir, log
        port = free_port()
        self.environment = {
            # The demo's own defaults: none of the services tier's database or broker.
            **{
                key: value
                for key, value in os.environ.items()
                if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
            },
            "DEMO_VENV": sys.prefix,  # this run's virtualenv, as it is
            "DEMO_SKIP_INSTALL": "1",
            "DEMO_VAR_DIR": str(var_dir),
            "PORT": str(port),
        }
        self.process = start(["sh", "sample_shop/demo.sh"], log=log, cwd=ROOT, env=self.environment)
        self.servers = set()

    def wait_until_serving(self):
        """Until the shop answers and beat has run a sweep; records the servers' groups."""
        wait_until(
            lambda: (
                "Starting development server" in self.log.read_text()
                and "omnichannel.dispatch_due" in self.log.read_text()
            ),
            timeout=120,
            what="the demo to serve and sweep",
            logs=[self.log],
        )
        # Its own group (demo.sh leads it) holds only the script and its `sleep`.
        self.servers = groups_of_children(self.process.pid) - {self.process.pid}

    def manage(self, code):
        """Run ``code`` in the demo's Django (``manage.py shell -c``), as a second process."""
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env={**self.environment, "DJANGO_SETTINGS_MODULE": "sample_shop.settings"},
            check=True,
            capture_output=True,
            timeout=60,
        )

    def end(self):
        end_group(self.process)
        for group in self.servers:  # in case the script itself could not stop them
            end_group_of(group)


@pytest.fixture
def demo(tmp_path):
    demo = Demo(tmp_path / "var", tmp_path / "demo.log")
    try:
        yield demo
    finally:
        demo.end()


def test_sigterm_stops_every_process_the_demo_started(demo):
    demo.wait_until_serving()
    assert len(demo.servers) == 2, demo.servers  # celery beat, runserver (with its child)
    assert all(running_in_group(group) for group in demo.servers)

    started = time.monotonic()
    demo.process.send_signal(signal.SIGTERM)
    demo.process.wait(timeout=STOP_BOUND_SECONDS)

    assert time.monotonic() - started < STOP_BOUND_SECONDS
    assert demo.process.returncode == 143
    assert {group: running_in_group(group) for group in demo.servers} == dict.fromkeys(
        demo.servers, []
    )


def test_a_due_message_is_sent_with_no_broker_and_no_broker_file(demo):
    demo.wait_until_serving()
    demo.manage(
        "from omnichannel.outbox import queueing; from omnichannel.models import Contact; "
        "queueing.enqueue(Contact.objects.create(email='visitor@example.com'), 'email', "
        "{'subject': 'Sent by the demo beat', 'text': 'Hello'}, "
        "idempotency_key='demo-test', purpose='transactional')"
    )

    def status():
        with sqlite3.connect(demo.var_dir / "demo.sqlite3") as database:
            query = "SELECT status FROM omnichannel_message WHERE idempotency_key = 'demo-test'"
            return database.execute(query).fetchone()[0]

    wait_until(lambda: status() == "sent", timeout=30, what="the sweep", logs=[demo.log])
    assert "Subject: Sent by the demo beat" in demo.log.read_text()  # the console backend
    # Nothing but the database: no broker folder or message file that could be half-written.
    assert sorted(path.name for path in demo.var_dir.iterdir()) == ["demo.sqlite3"]
