"""An HTTP/1.1 server on a free loopback port that counts the TCP connections it served.

A provider's API stands here (an ESP, a push service, Twilio): clients talk real HTTP to
it, keep-alive included, so a test sees how many connections N requests took.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class KeepAliveServer:
    """``with KeepAliveServer(answer) as server:``; ``answer(path, body)`` returns
    ``(status, json_body)`` for each POST."""

    def __init__(self, answer):
        self.connections = 0
        self.requests = []  # (path, body bytes)
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep the connection open between requests

            def setup(self):  # once per TCP connection
                super().setup()
                service.connections += 1

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.requests.append((self.path, body))
                status, payload = answer(self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
