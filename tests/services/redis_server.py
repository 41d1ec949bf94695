"""A redis-server of the test run's own: free port, no persistence, ended by PID.

The services tier never stops, flushes or reconfigures a Redis it did not start; the
broker-down scenario stops this one and starts it again on the same port, so that the
workers reconnect to the address they know.
"""

import shutil

import redis

from tests.processes import end_group, free_port, start, wait_until


class RedisServer:
    def __init__(self, directory):
        if shutil.which("redis-server") is None:
            raise RuntimeError(
                "the services tier starts its own Redis: install redis-server "
                "(apt-get install redis-server) or set TEST_BROKER_URL"
            )
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = directory / f"redis-{self.port}.log"
        self.process = None

    def start(self):
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
        ]  # fmt: skip
        # A restart appends to the same log, so a failure shows both runs.
        self.process = start(command, log=self.log, cwd=self.directory, append=True)
        wait_until(self.up, timeout=20, what=f"redis-server on port {self.port}", logs=[self.log])

    def stop(self):
        """SIGTERM by PID (no persistence: whatever was queued in it is gone)."""
        if self.process is not None:
            end_group(self.process)

    def up(self):
        client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)
        try:
            return client.ping()
        except redis.RedisError:
            return False
        finally:
            client.close()
