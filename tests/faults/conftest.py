"""Fault-test fixtures: one throwaway stack per session (its own PostgreSQL and Redis, migrated
once), app processes started per test and stopped after it, and a local provider server."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .stack import Stack


@pytest.fixture(autouse=True)
def _clean_redis():
    """Replaces tests/conftest.py's: these tests never touch REDIS_URL's Redis (each runs its own),
    so `make faults` needs no services and flushes nobody's data."""
    yield


@pytest.fixture(scope="session")
def stack():
    with tempfile.TemporaryDirectory(prefix="waymark-faults-") as data_dir:
        stack = Stack(Path(data_dir))
        try:
            stack.start_servers()
            yield stack
        finally:
            stack.shutdown()


@pytest.fixture
def live(stack):
    """The stack with its app processes stopped after the test (servers stay up and running)."""
    if stack.redis.proc is None:
        stack.redis.start()
    if stack.postgres.proc is None:
        stack.postgres.start()
    yield stack
    logs = {p.name: p.tail() for p in stack.processes if not p.alive}
    stack.stop_processes()
    for name, tail in logs.items():
        print(f"--- {name} (exited) ---\n{tail}")


class Provider:
    """A local HTTP provider. `script` answers each request in turn ("ok", "500", "timeout");
    when it runs out, `default` answers. Every request is recorded by its idempotency key (the
    Waymark message id, or a webhook body's `key`)."""

    def __init__(self):
        self.received: Counter = Counter()
        self.idempotency_keys: defaultdict[str, set] = defaultdict(set)
        self.arrivals: defaultdict[str, list[float]] = defaultdict(list)  # monotonic, per key
        self.script: list[str] = []
        self.default = "ok"
        self.delay = 0.0
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    data = json.loads(body or b"{}")
                except ValueError:
                    data = {}
                key = str(data.get("message_id") or data.get("key") or self.path)
                with provider.lock:
                    mode = provider.script.pop(0) if provider.script else provider.default
                    provider.received[key] += 1
                    provider.arrivals[key].append(time.monotonic())
                    provider.idempotency_keys[key].add(self.headers.get("Idempotency-Key"))
                if provider.delay:
                    time.sleep(provider.delay)
                if mode == "timeout":
                    time.sleep(3.0)  # longer than the sender's timeout
                    return
                status = 500 if mode == "500" else 200
                payload = json.dumps({"id": f"prov-{key}", "ok": status == 200}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (timeout) and closed

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())

    def keys_consistent(self, key: str) -> bool:
        """Every request for this message carried one and the same Idempotency-Key: its id."""
        with self.lock:
            return self.idempotency_keys[key] == {key}

    def doubled(self) -> dict:
        with self.lock:
            return {k: n for k, n in self.received.items() if n > 1}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    server = Provider()
    yield server
    server.close()


def wait_until(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s (last: {value!r})")
        time.sleep(interval)


# ---- The closing figures (issue #11): faults survived, anything lost or doubled -------------
LOSS_FIGURES = ("messages_lost", "messages_doubled", "events_lost", "events_doubled", "timers_lost",
                "timers_doubled")


def pytest_terminal_summary(terminalreporter):
    """Sums the fault tests' recorded figures (record_property) after the test summary."""
    calls = [r for reports in terminalreporter.stats.values() for r in reports
             if getattr(r, "when", None) == "call" and r.nodeid.startswith("tests/faults/")]
    if not calls:
        return
    survived = sum(r.passed for r in calls)
    totals: dict[str, int] = {}
    for report in calls:
        for name, value in report.user_properties:
            if name in LOSS_FIGURES:
                totals[name] = totals.get(name, 0) + int(value)
    terminalreporter.write_sep("-", "fault figures")
    terminalreporter.write_line(f"faults survived: {survived} of {len(calls)}")
    terminalreporter.write_line(", ".join(f"{name.replace('_', ' ')}: {totals.get(name, 0)}" for name in LOSS_FIGURES))
