"""Local servers speaking the providers' wire formats (HTTP and SMTP), and channel factories."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from audiences.models import Customer


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    at: float = field(default_factory=time.monotonic)  # arrival, to check backoff spacing

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class LocalServer:
    """A real HTTP server on 127.0.0.1; `routes[(method, path)]` → (status, json body)."""

    url: str = ""
    requests: list = field(default_factory=list)
    routes: dict = field(default_factory=dict)

    def route(self, method: str, path: str, status: int = 200, body=None, headers=None):
        self.routes[(method, path)] = (status, body, headers or {})


@pytest.fixture
def http_server():
    server_state = LocalServer()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server_state.requests.append(
                Recorded(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
            )
            status, payload, headers = server_state.routes.get(
                (self.command, parts.path), (404, {"error": "no route"}, {})
            )
            if callable(payload):  # a handler may answer (status, body) or just the body
                payload = payload(server_state.requests[-1])
                if isinstance(payload, tuple):
                    status, payload = payload
            # bytes go out as they are (a file to fetch); anything else as JSON
            raw = isinstance(payload, bytes)
            data = payload if raw else json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if not raw:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server_state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def smtp_server():
    """aiosmtpd on 127.0.0.1 collecting every envelope."""
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.envelopes = []

        async def handle_DATA(self, server, session, envelope):
            self.envelopes.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:  # aiosmtpd's start() connects to its port, so it cannot be 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


@pytest.fixture(autouse=True)
def _outbound_local(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.PUBLIC_BASE_URL = "http://testserver"


def make_customer(workspace, external_id="c1", **fields) -> Customer:
    return Customer.objects.for_workspace(workspace).create(
        workspace=workspace, external_id=external_id, **fields
    )
