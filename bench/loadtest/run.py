"""`make loadtest`: wrk against POST /api/v1/events for LOADTEST_SECONDS (300), 1,000 events per
request from LOADTEST_CONNECTIONS (8) connections on 2 wrk threads, against a real server
(uvicorn, 2 workers) with a real Celery worker taking the ingest hook's tasks.

Prints and writes .data/bench/loadtest.json: sustained events/s and requests/s, latency p50/p90/
p99/max, errors (socket errors, non-2xx, responses whose `errors` list was not empty), the events
PostgreSQL holds afterwards, CPU per event (server + worker + this database's PostgreSQL backends)
and the load average. Exit status 1 on any error or missing event.

Database: waymark_bench_loadtest (recreated) on DATABASE_URL's server; Redis: REDIS_URL (flushed;
give it a db of your own). Unset, both are embedded servers in a throwaway directory. wrk comes
from apt (installed here when missing, as .ci/run installs Chromium)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SCRIPT = Path(__file__).resolve().parent / "events.lua"
SECONDS = int(os.environ.get("LOADTEST_SECONDS", 300))
CONNECTIONS = int(os.environ.get("LOADTEST_CONNECTIONS", 8))
BATCH = int(os.environ.get("LOADTEST_BATCH", 1000))
DATABASE = "waymark_bench_loadtest"
PORT = int(os.environ.get("LOADTEST_PORT", 8793))
OUT = ROOT / ".data" / "bench" / "loadtest.json"


def ensure_wrk() -> str:
    if not shutil.which("wrk"):
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        print("[loadtest] installing wrk from apt", flush=True)
        subprocess.run([*sudo, "apt-get", "update"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "--no-install-recommends", "wrk"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    if not version or not version[0].startswith("wrk"):
        raise SystemExit("wrk is not usable: `wrk -v` printed nothing")
    return version[0]


def _recreate_database(url: str) -> str:
    import psycopg

    ours = urlunsplit(urlsplit(url)._replace(path=f"/{DATABASE}"))
    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return ours


def _backend_pids(database_url: str) -> list[int]:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                            " AND pid <> pg_backend_pid()").fetchall()
    return [row[0] for row in rows]


def loadtest(env: dict[str, str]) -> dict:
    from bench.bench_engine import _descendants, _proc_cpu

    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    created = subprocess.run([*manage, "create_workspace", "Load test"], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True).stdout
    key = re.search(r"wm_\S+", created).group(0)
    quiet = {"cwd": ROOT, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
             "start_new_session": True}
    procs = [
        subprocess.Popen([sys.executable, "-m", "uvicorn", "config.asgi:application", "--workers", "2", "--host",
                          "127.0.0.1", "--port", str(PORT), "--no-access-log", "--log-level", "warning"], **quiet),
        subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,engine,messages",
                          "-c", "1", "-n", f"loadtest-{PORT}@%h", "--without-gossip", "--without-mingle",
                          "-l", "WARNING"], **quiet),
    ]
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start within 60 s")
            time.sleep(0.3)
        cpu_before = {pid: _proc_cpu(pid) for p in procs for pid in _descendants(p.pid)}
        cpu_before |= {pid: _proc_cpu(pid) for pid in _backend_pids(env["DATABASE_URL"])}
        print(f"[loadtest] wrk: {SECONDS} s, {CONNECTIONS} connections, {BATCH} events per request; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        wrk = subprocess.run(
            ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "30s", "--latency", "-s", str(SCRIPT),
             f"http://127.0.0.1:{PORT}"],
            env={**env, "WAYMARK_API_KEY": key, "LOADTEST_BATCH": str(BATCH)}, capture_output=True, text=True,
        )
        load = os.getloadavg()
        pids = {pid for p in procs for pid in _descendants(p.pid)} | set(_backend_pids(env["DATABASE_URL"]))
        cpu = sum(_proc_cpu(pid) - cpu_before.get(pid, 0.0) for pid in pids)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    print(wrk.stdout, wrk.stderr, sep="\n", flush=True)
    line = next((line for line in wrk.stdout.splitlines() if line.startswith("LOADTEST_JSON ")), None)
    if wrk.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed (exit {wrk.returncode})")
    stats = json.loads(line.removeprefix("LOADTEST_JSON "))
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        (stored,) = conn.execute("SELECT count(*) FROM audiences_event").fetchone()
    seconds = stats["duration_us"] / 1e6
    sent = stats["requests"] * BATCH
    errors = sum(stats["errors"].values())
    latency = {k: round(v / 1000, 1) for k, v in stats["latency_us"].items()}
    return {
        "seconds": round(seconds, 1), "connections": CONNECTIONS, "events_per_request": BATCH,
        "requests": stats["requests"], "requests_s": round(stats["requests"] / seconds, 1),
        "events_s": round(sent / seconds), "latency_ms": latency, "errors": stats["errors"],
        "events_sent": sent, "events_stored": stored,
        "cpu_us_per_event": round(cpu / max(sent, 1) * 1e6, 1),
        "load_average": [round(x, 2) for x in load],
        # wrk counts finished requests only: up to one request per connection was still in flight
        # (and got stored) when it stopped.
        "ok": errors == 0 and sent <= stored <= sent + CONNECTIONS * BATCH,
    }


def main() -> int:
    wrk_version = ensure_wrk()
    from devtools.services import load_dotenv, services

    load_dotenv()
    with tempfile.TemporaryDirectory(prefix="waymark-loadtest-") as data_dir, services(Path(data_dir)) as urls:
        env = {**os.environ, **urls}
        env.update(DATABASE_URL=_recreate_database(env["DATABASE_URL"]), DJANGO_SETTINGS_MODULE="config.settings",
                   CELERY_BROKER_URL=env["REDIS_URL"], API_RATE_LIMIT="100000000/min", DEBUG="false",
                   LOG_LEVEL="WARNING")
        os.environ.update(env)
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
        result = {"tool": wrk_version, **loadtest(env)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    lat = result["latency_ms"]
    print(f"\nPOST /events × {BATCH} for {result['seconds']:.0f} s: {result['events_s']:,} events/s "
          f"({result['requests_s']} requests/s); latency p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms; "
          f"errors {result['errors']}; stored {result['events_stored']:,} of {result['events_sent']:,}; "
          f"CPU {result['cpu_us_per_event']} µs/event (= {2e6 / max(result['cpu_us_per_event'], 0.1):,.0f} events/s "
          f"if both cores were ours); load average {result['load_average']}")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
