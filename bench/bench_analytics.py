"""Benchmark: GET /journeys/{id}/analytics over 1,000,000 enrollments and ~6,000,000 step events.

Run alone: `DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/bench_analytics.py`. Generates one
journey's history with COPY (customers, enrollments, step events as the engine writes them,
messages and delivery events as channels write them), folds it into the rollups (the backfill),
starts a real server (uvicorn, 2 workers) and times the endpoint with sequential requests.
A second run reuses the generated journey (its name says how many enrollments it holds)."""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

TARGET_P95_MS = 200  # the ceiling for GET /journeys/{id}/analytics
DAYS = 30
GRAPH = {
    "nodes": [
        {"id": "start", "type": "start", "config": {}},
        {"id": "split", "type": "split", "config": {"paths": [{"id": "a", "name": "A", "percent": 50},
                                                              {"id": "b", "name": "B", "percent": 50}]}},
        {"id": "sms", "type": "message", "config": {"channel": "sms", "content": {"text": "Hi"}}},
        {"id": "buy", "type": "wait", "config": {"mode": "event", "event": "purchase",
                                                 "timeout": {"value": 3, "unit": "days"}}},
        {"id": "end", "type": "exit", "config": {}},
    ],
    "edges": [
        {"source": "start", "source_handle": "next", "target": "split"},
        {"source": "split", "source_handle": "a", "target": "sms"},
        {"source": "split", "source_handle": "b", "target": "buy"},
        {"source": "sms", "source_handle": "next", "target": "end"},
        {"source": "buy", "source_handle": "event", "target": "end"},
    ],
}
SETTINGS = {"entry": {"type": "api"}, "goals": [{"id": "bought", "name": "Bought", "condition": {"event": "purchase"}}],
            "holdout": {"percent": 10}}


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return cursor.fetchone()[0]


def _copy(cursor, sql: str, rows) -> int:
    n = 0
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def generate(n: int) -> tuple[int, dict]:
    """One journey with n enrollments and their history; returns (journey id, row counts)."""
    from django.db import connection, transaction

    from journeys.services import journey_create, journey_start
    from workspaces.services import workspace_create

    workspace = workspace_create(name=f"bench-analytics-{int(time.time())}")
    journey = journey_create(workspace=workspace, actor=None, name=f"bench-analytics-{n}", graph=GRAPH,
                             settings=SETTINGS)
    journey = journey_start(journey=journey, actor=None)
    ws, jid, vid = workspace.pk, journey.pk, journey.live_version_id
    rng = random.Random(42)
    base = datetime.now(UTC) - timedelta(days=DAYS)
    counts = {}
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        c0 = _next_id(cursor, "audiences_customer")
        counts["customers"] = _copy(
            cursor,
            "COPY audiences_customer (id, external_id, email, phone, timezone, locale, attributes, tags,"
            " push_tokens, unsubscribed, created_at, updated_at, workspace_id) FROM STDIN",
            ((c0 + i, f"b{i}", "", f"+1555{i:07d}", "", "", "{}", "{}", "[]", "{}", base, base, ws) for i in range(n)),
        )
        e0 = _next_id(cursor, "journeys_enrollment")
        plans = []  # per enrollment: (path, outcome, entered_at, finished_at, holdout, goal)
        for _ in range(n):
            entered = base + timedelta(seconds=rng.uniform(0, DAYS * 86400 - 7200))
            roll = rng.random()
            outcome = "completed" if roll < 0.75 else "exited" if roll < 0.87 else "failed" if roll < 0.90 else "waiting"
            finished = None if outcome == "waiting" else entered + timedelta(seconds=rng.expovariate(1 / 3600))
            plans.append((rng.choice("ab"), outcome, entered, finished, rng.random() < 0.10, rng.random() < 0.10))
        node_of = {"a": "sms", "b": "buy"}
        counts["enrollments"] = _copy(
            cursor,
            "COPY journeys_enrollment (id, state, node_id, step_seq, wake_at, entered_at, finished_at, exit_reason,"
            " holdout, context, goals, customer_id, workspace_id, journey_id, version_id, wait) FROM STDIN",
            ((e0 + i, outcome, node_of[path], 3, None, entered, finished,
              "exit_condition" if outcome == "exited" else "", holdout, "{}",
              json.dumps([{"id": "bought", "at": entered.isoformat()}]) if goal else "[]",
              c0 + i, ws, jid, vid, "{}")
             for i, (path, outcome, entered, finished, holdout, goal) in enumerate(plans)),
        )

        def steps():
            for i, (path, outcome, entered, finished, _, goal) in enumerate(plans):
                e, c, node = e0 + i, c0 + i, node_of[path]
                yield (ws, e, jid, vid, c, "start", "entered", "", 0, entered, "{}")
                yield (ws, e, jid, vid, c, "start", "passed", "next", 0, entered, "{}")
                yield (ws, e, jid, vid, c, "split", "arrived", "", 1, entered, "{}")
                yield (ws, e, jid, vid, c, "split", "passed", path, 1, entered, "{}")
                yield (ws, e, jid, vid, c, node, "arrived", "", 2, entered, "{}")
                if goal:
                    yield (ws, e, jid, vid, c, node, "goal", "", 2, entered, '{"goal_id": "bought"}')
                end = finished or entered
                data = '{"reason": "exit_condition"}' if outcome == "exited" else '{"reason": "error"}' if outcome == "failed" else "{}"
                yield (ws, e, jid, vid, c, node, outcome, "", 2, end, data)

        counts["step_events"] = _copy(
            cursor,
            "COPY journeys_stepevent (workspace_id, enrollment_id, journey_id, version_id, customer_id, node_id,"
            " kind, handle, step_seq, at, data) FROM STDIN",
            steps(),
        )
        m0 = _next_id(cursor, "channels_app_message")
        sends = [(i, p) for i, p in enumerate(plans) if p[0] == "a" and not p[4]]
        counts["messages"] = _copy(
            cursor,
            "COPY channels_app_message (id, step_seq, version, node_id, channel, provider, \"to\", targets, content,"
            " status, provider_message_id, error, error_detail, attempts, created_at, sent_at, workspace_id,"
            " customer_id, enrollment_id, journey_id) FROM STDIN",
            ((m0 + k, 2, 1, "sms", "sms", "sandbox", "+1555", "[]", "{}", "sent", "", "", "", 1, p[2], p[2], ws,
              c0 + i, e0 + i, jid) for k, (i, p) in enumerate(sends)),
        )

        def deliveries():
            for k, (_, p) in enumerate(sends):
                yield (ws, m0 + k, "sent", "send", p[2], "{}")
                roll = rng.random()
                if roll < 0.6:
                    yield (ws, m0 + k, "delivered", "api", p[2] + timedelta(seconds=5), "{}")
                if roll < 0.15:
                    yield (ws, m0 + k, "clicked", "click", p[2] + timedelta(minutes=5), "{}")

        counts["delivery_events"] = _copy(
            cursor, "COPY channels_app_deliveryevent (workspace_id, message_id, status, source, at, data) FROM STDIN",
            deliveries(),
        )
        for table in ("audiences_customer", "journeys_enrollment", "channels_app_message"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return jid, counts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _measure(client, url: str, n: int) -> dict:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:500]
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(len(times) * 0.95) - 1], "max": times[-1]}


def run(n: int = 1_000_000, requests: int = 200) -> list[dict]:
    import django

    django.setup()
    import httpx
    from django.core.management import call_command
    from django.db import connection

    from analytics.services import rollups_refresh
    from journeys.models import Journey
    from workspaces.models import Role
    from workspaces.services import api_key_create

    call_command("migrate", verbosity=0)
    journey = Journey.objects.unscoped().filter(name=f"bench-analytics-{n}").order_by("-id").first()
    results = []
    if journey is None:
        started = time.monotonic()
        journey_id, counts = generate(n)
        elapsed = time.monotonic() - started
        print(f"[bench_analytics] generated {counts} in {elapsed:.1f} s", flush=True)
        journey = Journey.objects.unscoped().get(pk=journey_id)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE journeys_stepevent")
            cursor.execute("VACUUM ANALYZE journeys_enrollment")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM journeys_stepevent WHERE journey_id = %s", [journey.pk])
        steps = cursor.fetchone()[0]
    started = time.monotonic()
    rollups_refresh()  # the backfill (a no-op when an earlier run already folded everything)
    backfill = time.monotonic() - started
    print(f"[bench_analytics] rollup refresh {backfill:.1f} s for {steps:,} step events", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE analytics_steprollup")
        started = time.monotonic()
        cursor.execute("SELECT node_id, kind, handle, count(*) FROM journeys_stepevent WHERE journey_id = %s"
                       " GROUP BY 1, 2, 3", [journey.pk])
        cursor.fetchall()
        recount_ms = (time.monotonic() - started) * 1000
        cursor.execute("SELECT count(*) FROM analytics_steprollup WHERE journey_id = %s", [journey.pk])
        rollup_rows = cursor.fetchone()[0]
    _, raw_key = api_key_create(workspace=journey.workspace, name="bench", role=Role.VIEWER)
    port = _free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "2", "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "API_RATE_LIMIT": "1000000/min"},
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        with httpx.Client(headers={"Authorization": f"Bearer {raw_key}"}, timeout=30) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get(f"{base}/analytics/journeys")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.2)
            url = f"{base}/journeys/{journey.pk}/analytics"
            body = client.get(url).json()
            assert body["summary"]["started"] == n, body["summary"]
            _measure(client, url, 20)  # warm-up: connections, plan caches
            plain = _measure(client, url, requests)
            week = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
            filtered = _measure(client, f"{url}?version=1&from={week}", requests // 2)
            listing = _measure(client, f"{base}/analytics/journeys", requests // 2)
            # The floor on this machine right now: an authenticated request that reads nothing.
            floor = _measure(client, f"{base}/journey-templates", requests // 2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"[bench_analytics] {steps:,} step events → {rollup_rows:,} rollup rows; full recount "
          f"{recount_ms:.0f} ms; GET analytics p50 {plain['p50']:.1f} p95 {plain['p95']:.1f} max {plain['max']:.1f} ms",
          flush=True)
    results += [
        {"path": "GET /journeys/{id}/analytics (1M enrollments) p95", "figure": round(plain["p95"], 1), "unit": "ms",
         "target": TARGET_P95_MS},
        {"path": "GET /journeys/{id}/analytics p50", "figure": round(plain["p50"], 1), "unit": "ms", "target": None},
        {"path": "GET …/analytics?version=1&from=(7 days) p95", "figure": round(filtered["p95"], 1), "unit": "ms",
         "target": TARGET_P95_MS},
        {"path": "GET /analytics/journeys p95", "figure": round(listing["p95"], 1), "unit": "ms", "target": None},
        {"path": "GET /journey-templates p95 (server floor, no DB read)", "figure": round(floor["p95"], 1),
         "unit": "ms", "target": None},
        {"path": "full recount from StepEvent (one GROUP BY)", "figure": round(recount_ms, 1), "unit": "ms",
         "target": None},
        {"path": f"rollup refresh ({steps:,} step events)", "figure": round(backfill, 1), "unit": "s",
         "target": None},
    ]
    return results


if __name__ == "__main__":
    for row in run(*(int(a) for a in sys.argv[1:2])):
        print(row)
