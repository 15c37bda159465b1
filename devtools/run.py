"""`make run`: services (embedded unless URLs are given), migrate, seed the demo, then every
Procfile process under honcho until Ctrl-C; the embedded services stop after the processes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from devtools.services import (
    BASE_DIR,
    die_with_parent,
    free_port,
    installation_secret_key,
    load_dotenv,
    services,
)

VENV_BIN = Path(sys.executable).parent


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM takes the same orderly path as Ctrl-C


def main() -> int:
    started = time.monotonic()
    # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    load_dotenv()
    port = int(os.environ.get("PORT") or 8000)
    base_url = f"http://127.0.0.1:{port}"
    if free_port(port) != port:  # else the banner would describe whatever already listens there
        print(
            f"[run] port {port} is in use; pick another with `make run PORT=...`", file=sys.stderr
        )
        return 1
    # Whitenoise warns on every request while STATIC_ROOT is missing.
    (BASE_DIR / ".data" / "staticfiles").mkdir(parents=True, exist_ok=True)
    try:
        with services(BASE_DIR / ".data") as urls:
            os.environ.update(urls)
            os.environ["PORT"] = str(port)
            os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
            os.environ["PYTHONUNBUFFERED"] = "1"  # log lines appear as they happen under honcho
            # Local runs may call webhooks on this machine; links point at this server.
            os.environ.setdefault("OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")
            os.environ.setdefault("PUBLIC_BASE_URL", base_url)
            # One random secret per installation (.data/secret_key), the same for every process.
            os.environ.setdefault("SECRET_KEY", installation_secret_key(BASE_DIR / ".data" / "secret_key"))
            demo = _migrate_and_seed()

            honcho = subprocess.Popen(
                [str(VENV_BIN / "honcho"), "start", "--procfile", "Procfile"],
                cwd=BASE_DIR,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
            threading.Thread(
                target=_announce, args=(honcho, base_url, demo, urls, started), daemon=True
            ).start()
            try:
                return honcho.wait()
            except KeyboardInterrupt:
                # Ctrl-C reached honcho too; SIGTERM covers a signal sent to us alone.
                # honcho stops its processes (SIGKILL after 5 s) before it exits.
                honcho.send_signal(signal.SIGTERM)
                _wait_through_interrupts(honcho)
                return 0
    except KeyboardInterrupt:
        return 0


def _migrate_and_seed() -> dict:
    """Both in this process: one Django start-up instead of two saves ~2 s on every start."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    call_command("migrate", interactive=False)
    seeded = io.StringIO()
    call_command("seed_demo", stdout=seeded)
    connections.close_all()  # the web and worker processes open their own
    return json.loads(seeded.getvalue().strip().splitlines()[-1])


def _wait_through_interrupts(proc: subprocess.Popen) -> None:
    """A second Ctrl-C must not abandon the processes before the database stops under them."""
    while True:
        try:
            proc.wait()
            return
        except KeyboardInterrupt:
            continue


def _announce(
    honcho: subprocess.Popen, base_url: str, demo: dict, urls: dict[str, str], started: float
) -> None:
    """Print where everything is once the web process answers (its start-up logs come first)."""
    while honcho.poll() is None:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.3)
    else:
        return
    services_line = (
        ", ".join(f"{k}={v}" for k, v in urls.items())
        or "DATABASE_URL and REDIS_URL from the environment"
    )
    lines = [
        f"Waymark is running at {base_url}   (ready in {time.monotonic() - started:.0f} s)",
        f"  Sign in:   {demo['email']}  /  {demo['password']}",
        f"  API key:   {demo['api_key']}",
        f"             curl -H 'Authorization: Bearer {demo['api_key']}' {base_url}/api/v1/api-keys",
        f"  API docs:  {base_url}/api/docs   (OpenAPI schema: {base_url}/api/v1/schema)",
        f"  Embedded:  {services_line}",
        "  Ctrl-C stops every process, then the embedded services.",
    ]
    rule = "=" * 78
    print("\n".join(["", rule, *lines, rule, ""]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
