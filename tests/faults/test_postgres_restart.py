"""PostgreSQL restarted during event ingest: while it is down the API answers 503 (never 500) with
Retry-After, clients retry with the same idempotency keys, and no accepted event is lost or
doubled."""

from __future__ import annotations

import threading
import time

import httpx

from .conftest import wait_until

BATCH = 20


def test_postgres_restart_during_ingest_answers_503_and_loses_nothing(live, record_property):
    live.web()
    live.worker("worker", concurrency=2)
    workspace_id, client = live.new_workspace("pg-restart")
    statuses: list[int] = []
    accepted: set[str] = set()
    stop = threading.Event()

    def ingest():
        n = 0
        while not stop.is_set():
            batch = [{"customer_id": f"pg-{(n + i) % 50}", "name": "tick", "id": f"ev-{n + i}"} for i in range(BATCH)]
            n += BATCH
            while True:  # a client that retries the same batch until it is accepted
                try:
                    response = client.post("/events", json={"events": batch}, timeout=10)
                except httpx.HTTPError:
                    statuses.append(0)  # connection dropped: the outcome is unknown, retry
                    time.sleep(0.2)
                    continue
                statuses.append(response.status_code)
                if response.status_code == 202:
                    assert response.json()["errors"] == []
                    accepted.update(e["id"] for e in batch)
                    break
                if response.status_code == 503:
                    assert response.headers.get("Retry-After")
                    assert response.json()["error"]["code"] == "service_unavailable"
                time.sleep(0.2)

    thread = threading.Thread(target=ingest, daemon=True)
    thread.start()
    wait_until(lambda: len(accepted) >= 200, 60, what="ingest under way")
    live.postgres.stop()
    wait_until(lambda: 503 in statuses, 30, 0.05, what="a 503 while PostgreSQL is down")
    time.sleep(2.0)
    live.postgres.start()
    accepted_at_restart = len(accepted)
    wait_until(lambda: len(accepted) >= accepted_at_restart + 200, 60, what="ingest resumed")
    stop.set()
    thread.join(30)

    assert 500 not in statuses, f"{statuses.count(500)} answers were 500"
    assert set(statuses) <= {0, 202, 503}, sorted(set(statuses))
    rows = live.sql(
        "SELECT idempotency_id, count(*) FROM audiences_event WHERE workspace_id = %s GROUP BY 1",
        [workspace_id],
    )
    stored = {key: n for key, n in rows}
    record_property("events_lost", len(accepted - set(stored)))
    record_property("events_doubled", sum(n > 1 for n in stored.values()))
    print(f"\nPostgreSQL restart: {len(accepted)} events accepted, {statuses.count(503)} answers 503, "
          f"{statuses.count(0)} dropped connections, {statuses.count(500)} answers 500")
    assert accepted - set(stored) == set(), "accepted events were lost"
    assert {k: n for k, n in stored.items() if n > 1} == {}, "events were stored twice"
