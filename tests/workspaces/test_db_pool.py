"""The web process (uvicorn) borrows PostgreSQL connections from a pool: sequential requests do not
open a new backend each, which PostgreSQL's own session counter (pg_stat_database.sessions)
shows an operator. Without the pool every ASGI request opened one. When PostgreSQL cannot be
reached, the pool's timeout answers 503, never 500 or a hang."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from django.conf import settings

REQUESTS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(port: int | None = None) -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", port or db.get("PORT") or 5432
    return f"postgres://{db.get('USER') or 'postgres'}{password}@{host}:{port}/{db['NAME']}"


@contextmanager
def uvicorn(**env: str):
    """config.asgi under uvicorn on the test database, as the Procfile starts it."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL,
             "DB_CONN_MAX_AGE": "60", **env},
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(proc.stdout.read().decode(errors="replace")) from None
                    time.sleep(0.1)
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _sessions_opened(observer: psycopg.Connection) -> int:
    """PostgreSQL's count of sessions ever opened on the test database. Backends publish their
    statistics at most once a second, so wait for that first."""
    time.sleep(1.5)
    observer.execute("SELECT pg_stat_clear_snapshot()")
    name = settings.DATABASES["default"]["NAME"]
    return observer.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]).fetchone()[0]


def _sessions_for_sequential_requests(client: httpx.Client) -> int:
    assert client.get("/healthz").json()["postgres"] == "ok"  # the pool is open
    with psycopg.connect(_database_url(), autocommit=True) as observer:
        before = _sessions_opened(observer)
        for _ in range(REQUESTS):
            response = client.get("/healthz")
            assert response.json()["postgres"] == "ok", response.text
        return _sessions_opened(observer) - before


@pytest.mark.usefixtures("db")
def test_sequential_asgi_requests_reuse_pooled_connections():
    with uvicorn() as client:  # the pool is on because config.asgi loads the settings
        pooled = _sessions_for_sequential_requests(client)
    with uvicorn(DB_POOL="false") as client:
        unpooled = _sessions_for_sequential_requests(client)
    # The counter is the database's, not the server's: a backend another part of the suite opens
    # in the same seconds (an earlier test's worker thread reconnecting) counts too, so a couple
    # is noise; a session per request (the unpooled figure below) is the failure.
    assert pooled <= 2, f"{pooled} new PostgreSQL sessions for {REQUESTS} pooled requests"
    # The counterfactual: persistent connections do not outlive an ASGI request's thread.
    assert unpooled >= REQUESTS, unpooled


@pytest.mark.usefixtures("db")
def test_unreachable_postgres_answers_503_after_the_pool_timeout():
    with socket.socket() as closed:  # a port nothing listens on: PostgreSQL is "down"
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    with uvicorn(DATABASE_URL=_database_url(dead_port), DB_POOL_TIMEOUT="0.5") as client:
        started = time.monotonic()
        response = client.get("/api/v1/journeys", headers={"Authorization": "Bearer wm_" + "x" * 40})
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "service_unavailable", response.text
    assert elapsed < 5, elapsed
