"""A fake message provider on 127.0.0.1, and the backend that talks to it over HTTP.

The services tier sends real HTTP requests from a real Celery worker process to this
server, which records every message it accepts (by the omnichannel message UUID), can fail
a share of calls with 503, and answers lookups like a provider's message search API.
"""

import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from omnichannel.channels.base import BaseChannelBackend, SendResult
from omnichannel.exceptions import TransientSendError


class FakeProvider:
    def __init__(self, fail_ratio=0.0, seed=7, delay=0.0, slow_every=0, slow_delay=0.0):
        self.delay = delay  # seconds each accepted send takes, like a real API call
        # Every ``slow_every``-th accepted send takes ``slow_delay`` instead: a provider
        # whose latency now and then exceeds the dispatcher's lease.
        self.slow_every, self.slow_delay = slow_every, slow_delay
        self.accepted = Counter()
        self.accepted_at = {}  # message id -> time.time() of its first acceptance
        self.refused = 0
        self.fail_ratio = fail_ratio
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def total(self):
        with self.lock:
            return sum(self.accepted.values())

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with provider.lock:
                    if provider.random.random() < provider.fail_ratio:
                        provider.refused += 1
                        self._answer(503, {"error": "try later"})
                        return
                    provider.accepted[body["id"]] += 1
                    provider.accepted_at.setdefault(body["id"], time.time())
                    total = sum(provider.accepted.values())
                slow = provider.slow_every and total % provider.slow_every == 0
                time.sleep(provider.slow_delay if slow else provider.delay)
                self._answer(200, {"sid": f"fake-{body['id']}"})

            def do_GET(self):
                message_id = self.path.rsplit("/", 1)[-1]
                with provider.lock:
                    found = provider.accepted[message_id] > 0
                self._answer(200 if found else 404, {"sid": f"fake-{message_id}"} if found else {})

            def _answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class HttpProviderBackend(BaseChannelBackend):
    """Sends each message as one POST to ``FAKE_PROVIDER_URL``; supports lookup."""

    provider = "fake-http"
    supports_lookup = True
    request_timeout = 5  # the requests timeout below

    def __init__(self):
        import os

        self.url = os.environ["FAKE_PROVIDER_URL"]
        self.session = requests.Session()

    def address(self, message):
        return message.contact.email

    def build_payload(self, message, rendered):
        return {"id": str(message.uuid), "to": message.to, "text": rendered.get("text", "")}

    def call_provider(self, payload, message):
        try:
            response = self.session.post(f"{self.url}/messages", json=payload, timeout=5)
        except requests.RequestException as exc:
            raise TransientSendError(str(exc), provider=self.provider) from exc
        if response.status_code != 200:
            raise TransientSendError(
                "provider busy", provider=self.provider, status_code=response.status_code
            )
        return response.json()

    def parse_response(self, response, message):
        return SendResult(provider_message_id=response["sid"])

    def lookup(self, message):
        response = self.session.get(f"{self.url}/messages/{message.uuid}", timeout=5)
        return response.json()["sid"] if response.status_code == 200 else None
