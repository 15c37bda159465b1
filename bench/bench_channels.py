"""Benchmark: sandbox sends through the `messages` queue with real Celery worker processes.

Run alone: `DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/bench_channels.py [N]`. Creates a
throwaway workspace, N queued sandbox messages (bulk insert), starts worker processes on the
messages queue, enqueues batches of SEND_BATCH ids and times until every message is sent."""

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


def run(n: int = 50_000, workers: int = 2) -> list[dict]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from audiences.models import Customer
    from channels_app.models import Message
    from channels_app.services import SEND_BATCH, channel_create, messages_enqueue
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
    try:
        time.sleep(4)  # workers boot
        started = time.perf_counter()
        messages_enqueue(message_ids=ids, workspace_id=workspace.pk)
        queued = Message.objects.for_workspace(workspace).filter(status="queued")
        while queued.exists():
            if time.perf_counter() - started > 600:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        sent = Message.objects.for_workspace(workspace).filter(status="sent").count()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        from workspaces.models import Workspace

        Workspace.objects.filter(pk=workspace.pk).delete()
    rate = sent / elapsed if elapsed else 0.0
    return [
        {
            "path": f"sandbox sends via messages queue ({workers} worker processes, {SEND_BATCH}/task, n={n})",
            "figure": round(rate),
            "unit": "messages/s",
            "target": TARGET_PER_SECOND,
            "ok": rate >= TARGET_PER_SECOND and sent == n,
        }
    ]


if __name__ == "__main__":
    for row in run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000):
        print(row)
