"""Scale-out on this machine: the engine's throughput run (customers enrolled through the API into
the 6-node journey of bench/bench_engine.py, node executions/s end to end) with 1, 2 and 4 Celery
worker processes of one prefork child each, plus the CPU each node execution cost (workers +
PostgreSQL backends), which says whether a flat curve is the cores running out or contention.

Run alone: `.venv/bin/python -m bench.bench_scaling` (DATABASE_URL defaults to
postgres://postgres@127.0.0.1:5432/waymark_bench_scaling, recreated when its name starts with
waymark_bench; REDIS_URL to db 3, flushed). BENCH_SCALING_CUSTOMERS sets the size (20,000)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waymark_bench_scaling")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")

CUSTOMERS = int(os.environ.get("BENCH_SCALING_CUSTOMERS", 20_000))
WORKER_COUNTS = (1, 2, 4)


def _prepare() -> tuple:
    """A fresh database with one workspace and CUSTOMERS customers; returns it and an owner API key."""
    import django

    from bench import bench_engine

    bench_engine._recreate_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from audiences.models import Customer
    from workspaces.models import Role
    from workspaces.redis import get_redis
    from workspaces.services import api_key_create, workspace_create

    connection.close()  # the database was just recreated under this process's connection
    call_command("migrate", verbosity=0)
    get_redis().flushdb()
    workspace = workspace_create(name="bench-scaling")
    Customer.objects.unscoped().bulk_create(
        [Customer(workspace=workspace, external_id=f"s{i}") for i in range(CUSTOMERS)], batch_size=5000
    )
    bench_engine.settle_setup()
    return workspace, api_key_create(workspace=workspace, name="bench", role=Role.OWNER)[1]


def run() -> list[dict]:
    import httpx

    from bench.bench_engine import PORT, Processes, _throughput

    workspace, key = _prepare()
    ids = [f"s{i}" for i in range(CUSTOMERS)]
    rows, rates = [], {}
    for count in WORKER_COUNTS:
        label = f"scale-out, {count} worker process{'es' if count > 1 else ''} × 1 child"
        with Processes(workers=count, concurrency=1) as processes, httpx.Client(
            base_url=f"http://127.0.0.1:{PORT}", headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as client:
            rate_row, _enrollment_rate, cpu_row = _throughput(client, workspace, ids, label=label, processes=processes)
        rates[count] = rate_row["figure"]
        rows += [{**rate_row, "reference": "celery_noop_tasks_s"}, {**cpu_row, "target": None, "ok": True}]
    growth = rates[2] / max(rates[1], 1)
    rows.append({
        "path": "scale-out: 2 worker processes ÷ 1 (grows while there are cores; this machine has 2)",
        "figure": round(growth, 2), "unit": "×", "target": 1.3, "ok": growth >= 1.3,
        "note": f"executions/s with 1, 2, 4 workers: {rates[1]:,}, {rates[2]:,}, {rates[4]:,} "
                f"(4 ÷ 2 = {rates[4] / max(rates[2], 1):.2f}: past the cores, the processes share them); "
                f"load average {os.getloadavg()[0]:.1f}",
    })
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{'ok ' if row['ok'] else 'MISS'} {row['figure']:>10} {row['unit']:<14} target {row['target']}  {row['path']}")
