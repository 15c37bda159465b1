"""Goal matching under ingest: POST /events (bench_audiences' clients, bodies and engine worker) while
1,000,000 finished enrollments have their goal window open, and GET /journeys/{id}/analytics read
meanwhile, against the same ingest with no window open, in the same run.

Phase A (reference): one active journey with a purchase goal and nobody in it; the customers
c0 … c<N-1> exist; events are ingested for BENCH_GOAL_SECONDS with the engine worker processing
every batch (it finds no open window). Phase B: N completed enrollments of that journey, entered
over the last 60 days with a 61-day goal window (every window open), their history (entered,
completed) folded into the rollups; the same ingest again, each batch's customers matched against
the open windows by one set-based query (journeys/engine/goals.py) and converted; the rollups fold
the new conversions every 2 s (as beat has them) and a reader polls the journey's analytics.

Rows: ingest with N open windows (events/s, target 50,000, ok only if the engine's backlog was done
within 10 s of the clients stopping, ratio to the same run's plain INSERT reference; the note gives phase A's rate, the cost of matching as their ratio, the conversions,
and checks none converted twice); conversions recorded per second; analytics p95 while ingesting
(target 200 ms). Alone: `python -m bench.run goals` (embedded services unless DATABASE_URL /
REDIS_URL are set; BENCH_DATABASE_URL / BENCH_REDIS_URL as bench_audiences). Sizes:
BENCH_GOAL_WINDOWS (default 1,000,000), BENCH_GOAL_SECONDS (default 30)."""

from __future__ import annotations

import os
import statistics
import threading
import time

import httpx

from bench import bench_audiences as ingest

WINDOWS = int(os.environ.get("BENCH_GOAL_WINDOWS", "1000000"))
SECONDS = float(os.environ.get("BENCH_GOAL_SECONDS", "30"))
TARGET_EVENTS_S = 50_000  # the issue: goal matching keeps the ingest target
TARGET_P95_MS = 200
# The ingest rate counts only if the engine kept up: its backlog (the matching of the batches the
# clients sent) must be done within this long after they stop, else the rate was bought by
# leaving the work queued.
TARGET_DRAIN_S = 10.0
# Pre-built bodies per client (each 1,000 events on random customers among the N): 40 × 6 clients
# is 240,000 distinct events, built in seconds rather than the minute a million take.
TEMPLATES = 40
GOAL = {
    "id": "bought",
    "name": "Bought",
    "condition": {"event": "purchase"},
    "window": {"value": 61, "unit": "days"},
    "value": {"property": "amount"},
}
GRAPH = {
    "nodes": [
        {"id": "start", "type": "start", "config": {}},
        {"id": "end", "type": "exit", "config": {}},
    ],
    "edges": [{"source": "start", "source_handle": "next", "target": "end"}],
}


def _sql(statement: str, params: tuple | dict = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(ingest.DATABASE_URL, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _journey(base: str, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    created = httpx.post(
        f"{base}/api/v1/journeys",
        headers=headers,
        timeout=60,
        json={
            "name": "Goal matching",
            "graph": GRAPH,
            "settings": {"entry": {"type": "api"}, "goals": [GOAL]},
        },
    )
    created.raise_for_status()
    journey_id = created.json()["id"]
    httpx.put(
        f"{base}/api/v1/journeys/{journey_id}/start", headers=headers, timeout=60
    ).raise_for_status()
    return journey_id


def _open_windows(journey_id: int) -> dict:
    """N completed enrollments of the journey, one per customer, entered uniformly over the last 60
    days (so every 61-day window is open), with their entered/completed step events; written by
    PostgreSQL itself (INSERT … SELECT), then analyzed."""
    started = time.monotonic()
    ((workspace_id, version_id),) = _sql(
        "SELECT workspace_id, live_version_id FROM journeys_journey WHERE id = %s", (journey_id,)
    )
    _sql(
        """
        INSERT INTO journeys_enrollment (state, node_id, step_seq, wake_at, entered_at, finished_at, exit_reason,
                                         holdout, context, goals, customer_id, workspace_id, journey_id, version_id,
                                         wait, key)
        SELECT 'completed', 'end', 2, NULL, t, t + interval '1 second', '', false, '{}', '[]', c.id, %(ws)s, %(j)s,
               %(v)s, '{}', ''
        FROM (SELECT id, now() - make_interval(secs => 60 * 86400 * random()) AS t
              FROM audiences_customer WHERE workspace_id = %(ws)s ORDER BY id LIMIT %(n)s) AS c(id, t)
        """,
        {"ws": workspace_id, "j": journey_id, "v": version_id, "n": WINDOWS},
    )
    _sql(
        """
        INSERT INTO journeys_stepevent (workspace_id, enrollment_id, journey_id, version_id, customer_id, node_id,
                                        kind, handle, to_node_id, step_seq, at, data)
        SELECT e.workspace_id, e.id, e.journey_id, e.version_id, e.customer_id, s.node_id, s.kind, s.handle,
               s.to_node_id, s.step_seq, s.at, '{}'::jsonb
        FROM journeys_enrollment e,
             LATERAL (VALUES ('start', 'entered', '', '', 0, e.entered_at),
                             ('start', 'passed', 'next', 'end', 0, e.entered_at),
                             ('end', 'completed', '', '', 1, e.finished_at))
                     AS s(node_id, kind, handle, to_node_id, step_seq, at)
        WHERE e.journey_id = %s
        """,
        (journey_id,),
    )
    for table in ("journeys_enrollment", "journeys_stepevent"):
        _sql(f"VACUUM ANALYZE {table}")
    # Phase A's events too, as autovacuum would have by the time the windows fill up: with the
    # statistics of the empty partitions the planner reads a batch's events by scanning the
    # workspace's (~5 s a batch at 600k events, measured) instead of by primary key (~3 ms).
    _sql("ANALYZE audiences_event")
    written = time.monotonic() - started
    started = time.monotonic()
    ingest._manage(
        "shell", "-c", "from analytics.services import rollups_refresh; rollups_refresh()"
    )
    return {"write_s": written, "fold_s": time.monotonic() - started}


def _folder(stop: threading.Event) -> None:
    """What beat does every 2 s: queue the rollups' fold (on the worker's `default` queue), so the
    analytics read sees the new conversions. Sent from here rather than by a beat process, whose
    CPU bench_events would count as the engine worker's."""
    from celery import Celery

    app = Celery(broker=ingest.REDIS_URL)
    while not stop.wait(2.0):
        app.send_task("analytics.tasks.rollups_refresh_task", queue="default", expires=2.0)


def _reader(
    url: str, key: str, stop: threading.Event, timings: list[float], errors: list[str]
) -> None:
    """A dashboard open on the journey: one analytics read after another, 100 ms apart."""
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:200]}")
            stop.wait(0.1)


def _ingest(
    key: str, journey: int | None, reading: bool
) -> tuple[int, dict, list[float], list[str]]:
    """One ingest phase in its own server and workers (bench_events adds its engine worker); the
    journey is created (through the API) when none is given. Returns (journey, bench_events' row
    with "drain_s": how long the engine took after the clients stopped to finish its backlog, the
    analytics reads' milliseconds, their errors)."""
    timings: list[float] = []
    errors: list[str] = []
    waits: list[float] = []
    drained = ingest._engine_drained

    # bench_events' last wait for the engine is the one after the clients stopped.
    def timed(deadline: float) -> bool:
        started = time.monotonic()
        done = drained(deadline)
        waits.append(time.monotonic() - started if done else float("inf"))
        return done

    ingest._engine_drained = timed
    with ingest.Processes() as procs:
        journey = journey or _journey(procs.base, key)
        stop = threading.Event()
        threads = [threading.Thread(target=_folder, args=(stop,))]
        if reading:
            threads.append(
                threading.Thread(
                    target=_reader,
                    args=(
                        f"{procs.base}/api/v1/journeys/{journey}/analytics",
                        key,
                        stop,
                        timings,
                        errors,
                    ),
                )
            )
        for thread in threads:
            thread.start()
        try:
            row = ingest.bench_events(procs, key)
        finally:
            ingest._engine_drained = drained
            stop.set()
            for thread in threads:
                thread.join()
    return journey, {**row, "drain_s": waits[-1] if waits else float("inf")}, timings, errors


def _cpu_part(note: str) -> str:
    """bench_events' CPU split out of its note ("CPU … µs/event (…)"), for the reference phase."""
    start = note.find("CPU ")
    return note[start : note.find("; load generator", start)] if start >= 0 else note


def run() -> list[dict]:
    ingest.BENCH_DATABASE = "waymark_bench_goals"
    ingest.CUSTOMERS, ingest.EVENT_SECONDS, ingest.EVENT_TEMPLATES = WINDOWS, SECONDS, TEMPLATES
    ingest._configure()
    (ingest.ROOT / ".data" / "bench").mkdir(parents=True, exist_ok=True)
    key = ingest._prepare_database()
    ingest._seed_customers()
    journey, baseline, _, _ = _ingest(key, None, False)
    setup = _open_windows(journey)
    ((open_windows,),) = _sql(
        "SELECT count(*) FROM journeys_enrollment WHERE journey_id = %s AND goals = '[]'"
        " AND entered_at > now() - interval '61 days'",
        (journey,),
    )
    started = time.monotonic()
    _, matched, timings, read_errors = _ingest(key, journey, True)
    elapsed = time.monotonic() - started
    ((converted, twice, value),) = _sql(
        "SELECT count(*) FILTER (WHERE goals <> '[]'), count(*) FILTER (WHERE jsonb_array_length(goals) > 1),"
        " coalesce(sum((goals -> 0 ->> 'value')::float8), 0) FROM journeys_enrollment WHERE journey_id = %s",
        (journey,),
    )
    ((goal_steps,),) = _sql(
        "SELECT count(*) FROM journeys_stepevent WHERE journey_id = %s AND kind = 'goal'",
        (journey,),
    )
    rate, base_rate = matched["figure"], baseline["figure"]
    drain = matched["drain_s"]
    stored = rate * SECONDS  # ≈ (the rate is stored / the clients' time)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)] if timings else float("nan")
    windows = f"{open_windows:,} open goal windows"
    return [
        {
            "path": f"POST /events with {windows} (goal matching, engine backlog done within "
            f"{TARGET_DRAIN_S:.0f} s), {SECONDS:.0f} s",
            "figure": rate,
            "unit": "events/s",
            "target": TARGET_EVENTS_S,
            "ok": bool(matched["ok"])
            and drain <= TARGET_DRAIN_S
            and twice == 0
            and goal_steps == converted,
            "reference": "raw_insert_events_s",
            "note": f"engine backlog done {drain:.1f} s after the clients stopped (at most {TARGET_DRAIN_S:.0f} s "
            f"for the rate to count; {stored / (SECONDS + drain):,.0f} events/s counting the backlog); "
            f"same ingest with no window open, this run: {base_rate:,} events/s "
            f"(matching keeps {rate / max(base_rate, 1):.2f} of it); {converted:,} conversions recorded "
            f"(value {value:,.0f}), {twice} enrollments converted twice, {goal_steps:,} goal step events; "
            f"windows written in {setup['write_s']:.0f} s, their history folded in {setup['fold_s']:.0f} s. "
            f"Phase with windows: {matched['note']}. Phase without: {_cpu_part(baseline['note'])}",
        },
        {
            "path": f"goal conversions recorded while ingesting ({windows})",
            "figure": round(converted / elapsed, 1),
            "unit": "conversions/s",
            "target": None,
            "ok": True,
            "note": f"{converted:,} in {elapsed:.0f} s (ingest, engine backlog and server start-up)",
        },
        {
            "path": f"GET /journeys/{{id}}/analytics p95 while ingesting ({windows}, {WINDOWS:,} enrollments)",
            "figure": round(p95, 1),
            "unit": "ms",
            "target": TARGET_P95_MS,
            "ok": p95 <= TARGET_P95_MS and not read_errors and len(timings) >= 20,
            "note": f"{len(timings)} reads 100 ms apart during the ingest; p50 "
            f"{statistics.median(timings) if timings else float('nan'):.1f} ms, max "
            f"{timings[-1] if timings else float('nan'):.1f} ms; {len(read_errors)} failed"
            + (f" (first: {read_errors[0]})" if read_errors else "")
            + f"; load average {ingest._load()}",
        },
    ]
