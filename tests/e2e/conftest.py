"""End-to-end fixtures: the real ASGI server (uvicorn, a subprocess) on the test database that
pytest-django created, a real Celery worker (in-process thread), Celery beat and the timers
process, and headless Chromium driven by Playwright. The suite runs after `npm run build`; this
file builds nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """Overrides the suite's MD5 hasher: the server subprocess only knows the default hashers,
    so passwords must be stored with one of those to log in through the browser."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        out, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return (out or b"").decode(errors="replace")[-4000:]


def _spawn(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


@pytest.fixture
def live_server_url(transactional_db, celery_worker, monkeypatch):
    """The whole product running on the test database: web (uvicorn), worker, beat, timers."""
    if not (BASE_DIR / "frontend" / "dist" / "index.html").exists():
        pytest.fail(
            "frontend/dist is missing: run `npm run build` in frontend/ (or `make frontend`) "
            "before the end-to-end tests; they test the built SPA and build nothing themselves."
        )
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are
    # still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DB_CONN_MAX_AGE": "0",
    }
    logs = Path(tempfile.mkdtemp(prefix="waymark-e2e-"))
    processes = {
        "web": _spawn(
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
            ],
            env,
        ),
        "beat": _spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(logs / "beat-schedule"),
            ],
            env,
        ),
    }
    if (BASE_DIR / "journeys" / "management" / "commands" / "run_timers.py").exists():
        processes["timers"] = _spawn(
            [sys.executable, "manage.py", "run_timers", "--poll", "0.2"], env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if processes["web"].poll() is not None:
                pytest.fail(f"the web server exited:\n{_stop(processes['web'])}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the web server did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        for name, process in processes.items():
            output = _stop(process)
            if output.strip():
                print(f"---- {name} output ----\n{output}")


@pytest.fixture
def sandbox_channels():
    """`sandbox_channels(api, from_email=…)` gives the workspace of `api` (an httpx client on
    /api/v1 with its key) sandbox email and SMS channels: they render and record every message,
    mark it sent and deliver it nowhere, so journeys send for real without reaching anyone."""

    def create(api: httpx.Client, *, from_email: str) -> None:
        for channel, channel_settings in (("email", {"from_email": from_email}), ("sms", {})):
            created = api.post(
                "/channels",
                json={
                    "channel": channel,
                    "provider": "sandbox",
                    "name": f"Sandbox {channel}",
                    "credentials": {},
                    "settings": channel_settings,
                },
            )
            assert created.status_code == 201, created.text

    return create


DOCS = BASE_DIR / "docs"


@pytest.fixture
def docs_screenshot():
    """`docs_screenshot(page, "name.png", **playwright_options)` refreshes docs/name.png, but only
    when WAYMARK_SCREENSHOTS=1: an ordinary test run leaves the committed pictures alone."""

    def shoot(page, name: str, **options) -> None:
        if os.environ.get("WAYMARK_SCREENSHOTS") == "1":
            page.screenshot(path=str(DOCS / name), **options)

    return shoot


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser_page(request):
    """A Chromium page; when the test fails, a screenshot and the browser console are kept."""
    from playwright.sync_api import expect, sync_playwright

    # A loaded 2-core CI machine: password hashing alone can take seconds.
    expect.set_options(timeout=20_000)

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        try:
            yield page
        finally:
            failed = getattr(request.node, "report_call", None)
            if failed is not None and failed.failed:
                shot = Path(tempfile.mkdtemp(prefix="waymark-e2e-")) / "failure.png"
                page.screenshot(path=str(shot), full_page=True)
                print(
                    f"screenshot of the failure: {shot}\nbrowser console:\n"
                    + "\n".join(console[-30:])
                )
            context.close()
            browser.close()
