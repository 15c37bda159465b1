"""Event-heavy segments: customers with 20 events each over 90 days (`make bench`: 200,000 × 4,000,000;
`make bench-scale`: 5,000,000 × 50,000,000, bench/scale.py), and the segment
"`purchase` at least twice within 30 days AND plan = pro AND not in list L":
(a) its count (audiences.selectors.segment_count, what GET /segments/{id}/count runs), ≤ 1 s;
(b) the same condition as a journey branch over a batch of 10,000 customers (facts_for given the
    run's `now`, + evaluate: what the engine runs per batch), ≤ 100 ms, with this process's CPU
    split into loading and evaluating, and PostgreSQL's time for the events query from its plan.
Each is judged against the bare SQL under it, measured here on the same data and published as a
reference (bench/references.py): the index range scan of the clause's events in the window, and the
probe of the batch's customers' events. EXPLAIN ANALYZE of the count and of the batch's event load
goes to .data/bench/segment-plans.txt.

The history is generated inside PostgreSQL (customers with a plan, events in time order with a
realistic mix: view 50%, page_viewed 20%, add_to_cart 15%, email_opened 10%, purchase 5%; small
properties, which neither query reads) in its own workspace, reused by a later run of the same size.
Sizes: BENCH_SEGMENT_CUSTOMERS, BENCH_SEGMENT_EVENTS (with the issue's 1M × 20M, generating the
history pushed `make bench` past its 15 minutes, so the suite runs a fifth of it and bench-scale
the big one; the references are measured on the same data in either run). The issue's size:
`BENCH_SEGMENT_CUSTOMERS=1000000 BENCH_SEGMENT_EVENTS=20000000 .venv/bin/python -m bench.run segments`
(~4 min to generate; with DATABASE_URL set to a server you keep, a second run reuses the history).
BENCH_SEGMENT_EXTRA="1000000x20000000" measures that size too, in the same run, before the main
one (its rows have no ratio: the references are the main size's).
Run alone: `.venv/bin/python -m bench.bench_segments` (DATABASE_URL / REDIS_URL as for the app)."""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

CUSTOMERS = int(os.environ.get("BENCH_SEGMENT_CUSTOMERS", 200_000))
EVENTS = int(os.environ.get("BENCH_SEGMENT_EVENTS", 4_000_000))
BATCH = int(os.environ.get("BENCH_SEGMENT_BATCH", 10_000))
DAYS = 90
LISTED = 0.1  # of the customers are on list L
LOAD_CHUNK = 1_000_000  # events per INSERT … SELECT (one transaction each)
REBUILT_INDEXES = ("event_customer_name_at", "event_workspace_name_at")  # dropped for the load, rebuilt after
TARGET_COUNT_S = 1.0
TARGET_BRANCH_S = 0.1
PLANS = ROOT / ".data" / "bench" / "segment-plans.txt"
# Sizes measured besides the main one, as "1000000x20000000,…" (each generates its own history):
# bench-scale can print the 1M × 20M beside its 5M × 50M.
EXTRA = [
    tuple(int(n) for n in size.split("x"))
    for size in os.environ.get("BENCH_SEGMENT_EXTRA", "").replace(" ", "").split(",")
    if size
]


def _condition(list_id: int) -> dict:
    return {"all": [
        {"event": "purchase", "count": {"op": "gte", "value": 2}, "within": {"value": 30, "unit": "days"}},
        {"attribute": "plan", "op": "eq", "value": "pro"},
        {"not": {"list": list_id}},
    ]}


def _prepare():
    """The workspace holding this size's history (generated on first use) and its list L."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from audiences.models import CustomerList
    from workspaces.models import Workspace
    from workspaces.partitions import partitions_ensure
    from workspaces.services import workspace_create

    call_command("migrate", verbosity=0)
    name = f"bench-segments {CUSTOMERS}x{EVENTS}"
    workspace = Workspace.objects.filter(name=name).first()
    if workspace is not None:
        return workspace, CustomerList.objects.for_workspace(workspace).get(), 0.0
    started = time.monotonic()
    partitions_ensure(now=timezone.now() - timedelta(days=DAYS), ahead=4)  # the months the history covers
    workspace = workspace_create(name=name)
    listed = CustomerList.objects.for_workspace(workspace).create(workspace=workspace, name="L")
    ws = workspace.pk
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO audiences_customer (workspace_id, external_id, email, phone, timezone, locale, attributes,"
            " tags, push_tokens, unsubscribed, created_at, updated_at)"
            " SELECT %s, 'c' || i, '', '', '', '', jsonb_build_object('plan', (ARRAY['free','pro','team','enterprise'])[1 + i %% 4],"
            " 'age', 18 + i %% 60), '{}', '[]', '{}', now(), now() FROM generate_series(0, %s - 1) i",
            [ws, CUSTOMERS],
        )
        cur.execute("SELECT min(id), max(id) FROM audiences_customer WHERE workspace_id = %s", [ws])
        low, high = cur.fetchone()
        cur.execute(
            "INSERT INTO audiences_listmember (workspace_id, customer_list_id, customer_id, added_at)"
            " SELECT %s, %s, id, now() FROM audiences_customer WHERE workspace_id = %s AND random() < %s",
            [ws, listed.pk, ws, LISTED],
        )
    # Events in time order (as ingest appends them), each chunk its own transaction; the two
    # secondary indexes are built once afterwards (a sorted build, not 20M random inserts into
    # an index larger than shared_buffers), from their own definitions, whatever happens.
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audiences_event' AND indexname = ANY(%s)",
                    [list(REBUILT_INDEXES)])
        definitions = cur.fetchall()
        for name, _ in definitions:
            cur.execute(f'DROP INDEX "{name}"')
    try:
        _load_events(ws, low, high)
    finally:
        with connection.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '512MB'")  # the sort of a 20M-row build in memory
            for _, definition in definitions:
                cur.execute(definition.replace(" ON ONLY ", " ON ", 1))  # to every partition, not the parent alone
            cur.execute("RESET maintenance_work_mem")
    with connection.cursor() as cur:
        for table in ("audiences_customer", "audiences_listmember", "audiences_event"):
            cur.execute(f"VACUUM (ANALYZE) {table}")
    return workspace, listed, time.monotonic() - started


def _load_events(ws: int, low: int, high: int) -> None:
    from django.db import connection

    for start in range(0, EVENTS, LOAD_CHUNK):
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO audiences_event (workspace_id, customer_id, name, properties, occurred_at, received_at)"
                " SELECT %(ws)s, %(low)s + floor(random() * %(span)s)::bigint,"
                " CASE WHEN r < 0.50 THEN 'view' WHEN r < 0.70 THEN 'page_viewed' WHEN r < 0.85 THEN 'add_to_cart'"
                "      WHEN r < 0.95 THEN 'email_opened' ELSE 'purchase' END,"
                " jsonb_build_object('amount', floor(random() * 200)::int),"
                " now() - make_interval(days => %(days)s) + (g::float8 / %(total)s) * make_interval(days => %(days)s)"
                "   + random() * interval '10 minutes',"
                " now()"
                " FROM (SELECT g, random() AS r FROM generate_series(%(start)s, %(stop)s - 1) g) s",
                {"ws": ws, "low": low, "span": high - low + 1, "days": DAYS, "total": EVENTS,
                 "start": start, "stop": min(EVENTS, start + LOAD_CHUNK)},
            )


def _median(fn, runs: int = 5) -> tuple[float, list[float], object]:
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), timings, result


def _explain(sql: str, params, setting: str = "random_page_cost = 1.1") -> str:
    """EXPLAIN ANALYZE under the setting the query runs with (segment_count's transaction sets
    random_page_cost; facts_for runs the batch's events without parallel workers)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"SET {setting}")
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
        cur.execute(f"RESET {setting.split()[0]}")
    return plan


def run() -> list[dict]:
    """The rows of each extra size (BENCH_SEGMENT_EXTRA), then of the main size, which alone
    publishes the references (a later publish would replace them, so extra rows have no ratio)."""
    global CUSTOMERS, EVENTS, PLANS  # noqa: PLW0603 - each size's run reads them
    main = (CUSTOMERS, EVENTS, PLANS)
    rows = []
    for customers, events in EXTRA:
        CUSTOMERS, EVENTS = customers, events
        PLANS = main[2].with_name(f"segment-plans-{customers}x{events}.txt")
        rows += [{k: v for k, v in row.items() if k != "reference"} for row in _run_size()]
    CUSTOMERS, EVENTS, PLANS = main
    return rows + _run_size()


def _run_size() -> list[dict]:
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from audiences.conditions import customers_matching, evaluate, facts_for
    from audiences.models import Customer
    from audiences.selectors import segment_count
    from bench import references

    PLANS.parent.mkdir(parents=True, exist_ok=True)
    workspace, listed, load_seconds = _prepare()
    condition = _condition(listed.pk)
    window = timezone.now() - timedelta(days=30)

    # (a) the count, and the bare scan of the clause's events under it
    count_s, count_runs, count = _median(lambda: segment_count(workspace=workspace, condition=condition))
    scan_sql = ("SELECT count(*) FROM audiences_event WHERE workspace_id = %s AND name = 'purchase' AND occurred_at >= %s")
    with connection.cursor() as cur:
        scan_s, _, _ = _median(lambda: (cur.execute(scan_sql, [workspace.pk, window]), cur.fetchone())[1])
    references.publish("event_window_scan_s", scan_s)
    query = customers_matching(workspace_id=workspace.pk, condition=condition, whole_workspace=True)
    sql, params = query.values("pk").query.sql_with_params()
    count_plan = _explain(f"SELECT count(*) FROM ({sql}) matching", params)

    # (b) the branch over a batch: the customers are in memory (the engine holds them); loading
    # their condition facts and evaluating is what a branch node costs per batch.
    rnd = random.Random(5)
    ids = sorted(rnd.sample(range(CUSTOMERS), min(BATCH, CUSTOMERS)))
    external = [f"c{i}" for i in ids]
    customers = list(Customer.objects.for_workspace(workspace).filter(external_id__in=external))
    now = timezone.now()

    def branch(bounded: bool):
        facts = facts_for(workspace_id=workspace.pk, customers=customers, conditions=[condition], now=now if bounded else None)
        return sum(evaluate(condition, facts[c.pk], now=now) for c in customers)

    # As the engine calls it (journeys/engine/run.py FactsGroup passes the run's `now`: only the
    # window's events load), and without `now` (every purchase of the batch's customers).
    cpu = time.process_time()
    branch_s, branch_runs, branch_true = _median(lambda: branch(True))
    branch_cpu = (time.process_time() - cpu) / len(branch_runs)  # this process: Python, not PostgreSQL
    unbounded_s, _, unbounded_true = _median(lambda: branch(False))
    assert unbounded_true == branch_true
    load_cpu, eval_cpu = _cpu_split(workspace.pk, customers, condition, now)
    pks = [c.pk for c in customers]
    probe_sql = ("SELECT customer_id, count(*) FROM audiences_event WHERE workspace_id = %s AND customer_id = ANY(%s)"
                 " AND name = 'purchase' AND occurred_at >= %s GROUP BY customer_id HAVING count(*) >= 2")
    with connection.cursor() as cur:
        probe_s, _, _ = _median(lambda: (cur.execute(probe_sql, [workspace.pk, pks, window]), cur.fetchall())[1])
    references.publish("event_batch_probe_s", probe_s)
    events_sql, events_params = _facts_events_sql(workspace.pk, customers, condition, now)
    branch_plan = _explain(events_sql, events_params, "max_parallel_workers_per_gather = 0")
    branch_sql_ms = _plan_ms(branch_plan)
    branch_plan = re.sub(r"'\{[0-9, ]{200,}\}'", "'{…the batch's customer ids…}'", branch_plan)
    events_sql = re.sub(r"'\{[0-9, ]{200,}\}'", "'{…the batch's customer ids…}'", events_sql)
    PLANS.write_text(
        f"-- segment count: {count:,} of {CUSTOMERS:,} customers, {EVENTS:,} events\n{sql % tuple(repr(p) for p in params)}\n\n"
        f"{count_plan}\n\n-- journey branch: the events facts_for loads for a batch of {len(customers):,}\n{events_sql}\n\n"
        f"{branch_plan}\n"
    )
    size = f"{CUSTOMERS:,} customers, {EVENTS:,} events"
    with connection.cursor() as cur:
        # A partitioned table has no storage of its own: its size is its partitions'.
        cur.execute("SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('audiences_event')")
        events_size = cur.fetchone()[0]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        {
            "path": f"segment count: purchase ≥ 2 in 30 days AND plan = pro AND not in list ({size})",
            "figure": round(count_s, 3), "unit": "s", "target": TARGET_COUNT_S, "ok": count_s <= TARGET_COUNT_S,
            "reference": "event_window_scan_s",
            "note": f"count = {count:,}; median of 5 ({', '.join(f'{t:.3f}' for t in count_runs)}); bare scan of the "
            f"window's purchase events {scan_s:.3f} s; events table {events_size}"
            + (f"; history generated in {load_seconds:.0f} s" if load_seconds else "; history reused")
            + f"; plans in {PLANS.relative_to(ROOT)}; load average {load}",
        },
        {
            "path": f"journey branch on the same condition, a batch of {len(customers):,} customers ({size})",
            "figure": round(branch_s, 3), "unit": "s", "target": TARGET_BRANCH_S, "ok": branch_s <= TARGET_BRANCH_S,
            "reference": "event_batch_probe_s",
            "note": f"{branch_true:,} take the branch; median of 5 ({', '.join(f'{t:.3f}' for t in branch_runs)}); "
            f"{1e3 * branch_cpu:.0f} ms of Python CPU a batch ({load_cpu:.0f} loading the facts, {eval_cpu:.0f} evaluating; "
            f"the rest of the time is PostgreSQL's: {branch_sql_ms:.0f} ms planning and executing the events query in "
            f"EXPLAIN ANALYZE); without the batch's now (every purchase loaded) {unbounded_s:.3f} s; "
            f"bare probe of the batch's purchase events {probe_s:.3f} s; load average {load}",
        },
    ]


def _cpu_split(workspace_id: int, customers, condition: dict, now) -> tuple[float, float]:
    """Median ms of this process's CPU loading a batch's facts and evaluating the condition on them."""
    from audiences.conditions import evaluate, facts_for

    loading, evaluating = [], []
    for _ in range(5):
        started = time.process_time()
        facts = facts_for(workspace_id=workspace_id, customers=customers, conditions=[condition], now=now)
        loaded = time.process_time()
        for c in customers:
            evaluate(condition, facts[c.pk], now=now)
        loading.append(1e3 * (loaded - started))
        evaluating.append(1e3 * (time.process_time() - loaded))
    return statistics.median(loading), statistics.median(evaluating)


def _plan_ms(plan: str) -> float:
    """Planning + execution time of an EXPLAIN ANALYZE output, in ms."""
    return sum(float(m) for m in re.findall(r"(?:Planning|Execution) Time: ([0-9.]+) ms", plan))


def _facts_events_sql(workspace_id: int, customers, condition: dict, now) -> tuple[str, list]:
    """The events query facts_for runs for this batch at `now`, as SQL (captured, not re-derived)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audiences.conditions import facts_for

    with CaptureQueriesContext(connection) as captured:
        facts_for(workspace_id=workspace_id, customers=customers, conditions=[condition], now=now)
    sql = next(q["sql"] for q in captured.captured_queries if "audiences_event" in q["sql"])
    return sql, None


if __name__ == "__main__":
    for row in run():
        print(row)
