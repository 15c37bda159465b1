"""Benchmark: sandbox sends through the `messages` queue with real Celery worker processes.

Run alone: `DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/bench_channels.py [N] [WORKERS]`.
Creates a throwaway workspace and N queued sandbox messages (bulk insert, statistics left stale
as after a real burst), starts worker processes on the messages queue and waits until they answer,
enqueues batches of SEND_BATCH ids and times until every message is sent. Besides the wall-clock
rate it reports the CPU the sends cost (worker processes plus their PostgreSQL backends), which
says what the machine allows when other work shares its two cores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

TARGET_PER_SECOND = 5000
CORES = 2  # LIMITS.md: the machine the targets are set for
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """user + system CPU of one process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def _backend_pids() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return [row[0] for row in cursor.fetchall()]


def _workers_ready(app, count: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while len(app.control.ping(timeout=1.0) or []) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers did not come up within {timeout:.0f} s")


def run(n: int = 50_000, workers: int = 2) -> list[dict]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from audiences.models import Customer
    from channels_app.models import Message
    from channels_app.services import SEND_BATCH, channel_create, messages_enqueue
    from config.celery import app
    from workspaces.models import Workspace
    from workspaces.services import workspace_create

    workspace = workspace_create(name=f"bench-channels-{int(time.time())}")
    config = channel_create(workspace=workspace, channel="sms", provider="sandbox", name="bench")
    customers = Customer.objects.unscoped().bulk_create(
        [
            Customer(workspace=workspace, external_id=f"b{i}", phone=f"+1555{i:07d}")
            for i in range(1000)
        ],
        batch_size=1000,
    )
    messages = Message.objects.unscoped().bulk_create(
        [
            Message(
                workspace=workspace,
                customer=customers[i % 1000],
                channel="sms",
                channel_config=config,
                provider="sandbox",
                to=customers[i % 1000].phone,
                targets=[customers[i % 1000].phone],
                content={"text": f"Hello {i}"},
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    ids = [m.pk for m in messages]
    before_backends = set(_backend_pids())
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "messages",
                "-c",
                "1",
                "--pool",
                "solo",
                "-n",
                f"bench{i}@%h",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
        )
        for i in range(workers)
    ]
    load = os.getloadavg()[0]
    try:
        _workers_ready(app, workers)
        cpu_before = sum(_cpu_seconds(p.pid) for p in procs)
        started = time.perf_counter()
        messages_enqueue(message_ids=ids, workspace_id=workspace.pk)
        queued = Message.objects.for_workspace(workspace).filter(status="queued")
        while queued.exists():
            if time.perf_counter() - started > 600:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        # The workers' PostgreSQL backends opened with their first task, inside the timed run.
        backends = [pid for pid in _backend_pids() if pid not in before_backends]
        cpu = sum(_cpu_seconds(p.pid) for p in procs) - cpu_before
        cpu += sum(_cpu_seconds(pid) for pid in backends)
        load = max(load, os.getloadavg()[0])
        sent = Message.objects.for_workspace(workspace).filter(status="sent").count()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        Workspace.objects.filter(pk=workspace.pk).delete()
    rate = sent / elapsed if elapsed else 0.0
    cpu_us = cpu / sent * 1e6 if sent else 0.0
    budget_us = CORES / TARGET_PER_SECOND * 1e6
    where = f"{workers} worker processes, {SEND_BATCH}/task, n={n}, load average {load:.1f}"
    return [
        {
            "path": f"sandbox sends via messages queue ({where})",
            "figure": round(rate),
            "unit": "messages/s",
            "target": TARGET_PER_SECOND,
            "ok": rate >= TARGET_PER_SECOND and sent == n,
            # Sends travel as Celery tasks of SEND_BATCH messages: the ratio is what batching buys
            # over one task per message.
            "reference": "celery_noop_tasks_s",
        },
        {
            "path": f"CPU per sandbox send, workers + their PostgreSQL backends ({where})",
            "figure": round(cpu_us),
            "unit": "µs/message",
            "target": round(budget_us),  # 2 cores spent on nothing else reach 5,000/s
            "ok": 0 < cpu_us <= budget_us and sent == n,
        },
    ]


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    for row in run(*args):
        print(row)
