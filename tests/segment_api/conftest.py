"""Tracking API fixtures: raw HTTP calls the way the SDKs make them, and a live ASGI server
(uvicorn in a subprocess, on the test database) for the real Segment and RudderStack clients."""

from __future__ import annotations

import base64
import gzip as gzip_module
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def send(path: str, body, key: str | None = None, *, gzip: bool = False, raw: bytes | None = None):
    """POST to /v1/<path> like an SDK: JSON (optionally gzip), the write key as Basic user name."""
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {}
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = basic(key)
    if gzip:
        data = gzip_module.compress(data)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    return Client().post(f"/v1/{path}", data=data, content_type="application/json", **headers)


@pytest.fixture
def key(api) -> str:
    """The write key: the owner API key of `workspace`."""
    return api.raw_key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def tracking_server(django_db_setup, django_db_blocker):
    """A real uvicorn serving config.asgi on the database pytest-django created. Its commits are
    visible to tests using `transactional_db` (the celery_worker fixture brings that)."""
    db = settings.DATABASES["default"]
    user = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # No pooled connections: the test database is dropped at the end of the session.
        "DB_CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the tracking test server did not start")
        time.sleep(0.1)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
