"""A real SMTP server on a free loopback port (aiosmtpd), counting its sessions.

Used by the email tests and by ``tests/bench/bench_email.py``: Django's SMTP backend talks
to it over TCP exactly as it would to a mail relay, and the server records each session
(one EHLO or HELO greeting per connection) and each message it accepted.
"""

import threading
from email import message_from_bytes

from aiosmtpd.controller import Controller


class Recorder:
    """The aiosmtpd handler: counts greetings, keeps accepted messages, drops on demand."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sessions = 0
        self.messages = []  # email.message.Message, in the order accepted
        self.data_commands = 0
        self.drop = set()  # which DATA commands (1, 2, ...) end the connection instead

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._greeted(session, hostname)
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self._greeted(session, hostname)
        return f"250 {server.hostname}"

    def _greeted(self, session, hostname):
        session.host_name = hostname
        with self.lock:
            self.sessions += 1

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_commands += 1
            drop = self.data_commands in self.drop
            if not drop:
                self.messages.append(message_from_bytes(envelope.content))
        if drop:  # the relay goes away mid-transaction, before accepting the message
            server.transport.close()
            return "421 closing the connection"
        return "250 OK"


class SmtpServer(Controller):
    """``with SmtpServer() as server:`` serves on 127.0.0.1:``server.port`` until the end."""

    def __init__(self):
        self.recorder = Recorder()
        super().__init__(self.recorder, hostname="127.0.0.1", port=0)

    def _trigger_server(self):
        # Bound to port 0: learn the port the system chose before connecting to it.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    def settings(self):
        """Django settings that send through this server."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_TIMEOUT": 10,
        }

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def serve(pipe):
    """Run a server in a process of its own (a bench's): send its port over ``pipe``, then
    answer each ``"count"`` with (sessions, messages) so far, until ``"stop"``."""
    with SmtpServer() as server:
        pipe.send(server.port)
        while pipe.recv() != "stop":
            with server.recorder.lock:
                pipe.send((server.recorder.sessions, len(server.recorder.messages)))
