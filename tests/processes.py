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


def _running():
    """(pid, parent pid, process group) of every process that still runs (zombies, which
    have exited and only wait for their parent to collect them, do not count)."""
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command may contain spaces and parentheses: fields follow the last ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        if fields[0] not in ("Z", "X"):
            yield int(entry.name), int(fields[1]), int(fields[2])


def running_in_group(pgid):
    """PIDs of the group's processes that still run."""
    if not PROC.is_dir():  # no /proc: ask the kernel whether anything is left at all
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    return [pid for pid, _parent, group in _running() if group == pgid]


def groups_of_children(pid):
    """Process groups of the running children of ``pid`` (servers a script started in
    groups of their own)."""
    return {group for _pid, parent, group in _running() if parent == pid}


def _signal_group(pgid, signum):
    with contextlib.suppress(ProcessLookupError):  # the whole group has ended already
        os.killpg(pgid, signum)


def end_group(process, *, timeout=15.0):
    """End ``process`` and every process of its group: SIGTERM, then SIGKILL to whatever
    still runs after ``timeout`` seconds. Safe to call again, and after a kill."""
    # Collect the leader while waiting, else it stays in the group as a zombie.
    end_group_of(process.pid, timeout=timeout, collect=process.poll)
    process.wait(timeout=10)


def end_group_of(pgid, *, timeout=15.0, collect=lambda: None):
    """``end_group`` for a group whose leader this process did not start."""
    _signal_group(pgid, signal.SIGTERM)
    if _wait_for_empty_group(pgid, timeout, collect):
        return
    _signal_group(pgid, signal.SIGKILL)
    _wait_for_empty_group(pgid, 10, collect)


def _wait_for_empty_group(pgid, timeout, collect):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        collect()
        if not running_in_group(pgid):
            return True
        time.sleep(0.1)
    return False


def kill_group(process):
    """SIGKILL the whole group at once: no cleanup anywhere, like a machine losing power."""
    _signal_group(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
