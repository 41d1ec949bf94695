"""Processes the tests start, and how they end them.

Every server or worker a test starts runs in a process group of its own
(``start_new_session=True``), so that ending it ends whatever it forked as well: a Celery
worker's embedded beat, a prefork pool, a shell's children. A child whose leader was
SIGKILLed keeps the group id, so the group can still be ended after such a kill.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

PROC = Path("/proc")


def wait_until(condition, *, timeout, what, logs=(), interval=0.2):
    """Poll ``condition`` until true; on timeout fail with the tails of ``logs``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    detail = "".join(f"\n--- {log.name} ---\n{log.read_text()[-6000:]}" for log in logs)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")


def start(command, *, log, append=False, **options):
    """``subprocess.Popen`` in a new process group, output to the file ``log``."""
    with open(log, "a" if append else "w") as output:
        return subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, **options
        )


def running_in_group(pgid):
    """PIDs of the group's processes that still run (zombies, which have exited and only
    wait for their parent to collect them, do not count)."""
    if not PROC.is_dir():  # no /proc: ask the kernel whether anything is left at all
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    running = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command may contain spaces and parentheses: fields follow the last ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            running.append(int(entry.name))
    return running


def _signal_group(pgid, signum):
    with contextlib.suppress(ProcessLookupError):  # the whole group has ended already
        os.killpg(pgid, signum)


def end_group(process, *, timeout=15.0):
    """End ``process`` and every process of its group: SIGTERM, then SIGKILL to whatever
    still runs after ``timeout`` seconds. Safe to call again, and after a kill."""
    pgid = process.pid
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()  # collect the leader, else it stays in the group as a zombie
        if not running_in_group(pgid):
            break
        time.sleep(0.1)
    else:
        _signal_group(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while running_in_group(pgid) and time.monotonic() < deadline:
            process.poll()
            time.sleep(0.1)
    process.wait(timeout=10)


def kill_group(process):
    """SIGKILL the whole group at once: no cleanup anywhere, like a machine losing power."""
    _signal_group(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
