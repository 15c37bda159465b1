"""Reference rates, measured first in every `make bench` run on the same machine, load and servers
as the benchmarks judged against them (names and meaning in bench/references.py):

- raw_copy_rows_s: COPY of the import benchmark's own 1M-row CSV into an unindexed table of text columns;
- indexed_copy_rows_s: COPY of the rows that import stores (cleaned, typed) into a table created from
  the Customer model itself, so it carries exactly the customers table's columns and indexes;
- phonenumbers_numbers_s: the phonenumbers library's parse + is_valid_number + format_number over
  generated numbers in the forms users type (bench/realistic.py), numbers/s;
- raw_insert_events_s: INSERT … VALUES statements of 1,000 events (the ingest bench's ~0.5 KB
  properties) into an unindexed table shaped like the events table, from INSERT_CLIENTS connections (one commit per statement);
- celery_noop_tasks_s: throughput of no-op tasks sent one by one to a real `celery worker` with the
  app's settings (2 prefork children, acks late, prefetch ×4), from the first send until the last
  one ran; the note gives the CPU per task, which load from others does not change;
- redis_zadd_zpop_s: ZADD 1,000 per pipeline, then ZPOPMIN 1,000 per call, members/s.

Run alone: `.venv/bin/python -m bench.bench_reference` (DATABASE_URL / REDIS_URL as for the app).
BENCH_REFERENCES (a comma list of the names above) measures only those."""

from __future__ import annotations

import functools
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from celery import shared_task

from bench.proc import tree_cpu_seconds
from bench.realistic import event_properties

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# The median of three, as LIMITS.md measures; `make bench-scale` copies its 5M rows once (bench/scale.py).
COPY_RUNS = int(os.environ.get("BENCH_REFERENCE_COPY_RUNS", 3))
INSERT_CLIENTS = 4
INSERT_SECONDS = float(os.environ.get("BENCH_REFERENCE_INSERT_SECONDS", 10))
INSERT_BATCH = 1000
NOOP_TASKS = int(os.environ.get("BENCH_REFERENCE_NOOP_TASKS", 5000))
ZSET_MEMBERS = int(os.environ.get("BENCH_REFERENCE_ZSET_MEMBERS", 200_000))
QUEUE = "bench_reference"


@shared_task(name="bench.reference.noop", ignore_result=True)
def noop_task(counter: str) -> None:
    """Does nothing but count itself (one INCR), so the sender sees when it ran."""
    from workspaces.redis import get_redis

    get_redis().incr(counter)


def _raw_connection():
    """A psycopg connection of its own (autocommit) to the app's database."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


def raw_copy_rows_s() -> tuple[float, str]:
    # The very file the import benchmark uploads, at its size (BENCH_CUSTOMERS).
    from bench.bench_audiences import CUSTOMERS, _csv_file

    (ROOT / ".data" / "bench").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    path = _csv_file(CUSTOMERS)
    _said("wrote", path, started)
    with open(path, encoding="utf-8") as f:
        columns = ", ".join(f"c{i} text" for i in range(f.readline().count(",") + 1))
    timings = []
    with _raw_connection() as conn:
        for _ in range(COPY_RUNS):
            conn.execute("DROP TABLE IF EXISTS bench_reference_copy")
            conn.execute(f"CREATE TABLE bench_reference_copy ({columns})")
            started = time.perf_counter()
            with conn.cursor() as cursor, open(path, "rb") as f:
                with cursor.copy("COPY bench_reference_copy FROM STDIN (FORMAT csv, HEADER true)") as copy:
                    while block := f.read(1 << 20):
                        copy.write(block)
            timings.append(time.perf_counter() - started)
        conn.execute("DROP TABLE bench_reference_copy")
    seconds = statistics.median(timings)
    return CUSTOMERS / seconds, f"{CUSTOMERS:,} rows, {_runs(timings)}"


def _stored_rows_file(csv_path: Path) -> tuple[Path, int]:
    """The import CSV's importable rows as COPY text for the customers table's columns, cleaned as
    the import cleans them (phone to E.164, tags to an array, attributes to typed JSON); built once."""
    import csv

    from audiences.normalize import FieldError, locale_clean, phone_clean, timezone_clean

    path = csv_path.with_suffix(".stored.copy")
    count_path = path.with_suffix(".count")
    if path.exists() and count_path.exists():
        return path, int(count_path.read_text())

    @functools.cache  # a few thousand distinct cells (names, ages, scores, dates): each typed once
    def typed(cell: str):
        for kind in (int, float):
            try:
                return kind(cell)
            except ValueError:
                pass
        return {"true": True, "false": False}.get(cell, cell)

    rows, started = 0, time.monotonic()
    tmp = path.with_suffix(".tmp")
    with open(csv_path, encoding="utf-8", newline="") as source, open(tmp, "w", encoding="utf-8") as out:
        reader = csv.reader(source)
        header = next(reader)
        known = {name: header.index(name) for name in ("external_id", "email", "phone", "locale", "timezone", "tags")}
        attributes = [(name, i) for i, name in enumerate(header) if i not in known.values()]
        for row in reader:
            try:
                phone = phone_clean(row[known["phone"]]) if row[known["phone"]] else ""
                locale, zone = locale_clean(row[known["locale"]]), timezone_clean(row[known["timezone"]])
            except FieldError:
                continue
            tags = "{" + ",".join(filter(None, row[known["tags"]].split(";"))) + "}"
            attrs = json.dumps({name: typed(row[i]) for name, i in attributes if row[i]}, separators=(",", ":"))
            out.write(f"1\t{row[known['external_id']]}\t{row[known['email']]}\t{phone}\t{zone}\t{locale}\t{attrs}\t"
                      f"{tags}\t[]\t{{}}\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\n")
            rows += 1
    tmp.rename(path)
    count_path.write_text(str(rows))
    _said("wrote", path, started)
    return path, rows


def _said(what: str, path: Path, started: float) -> None:
    """Prints how long a kept file took to make (nothing when it was already there)."""
    if (seconds := time.monotonic() - started) > 1:
        print(f"[bench_reference] {what} {path.name} in {seconds:.1f} s", flush=True)


def indexed_copy_rows_s() -> tuple[float, str]:
    from django.db import connection

    from audiences.models import Customer
    from bench.bench_audiences import CUSTOMERS, _csv_file

    (ROOT / ".data" / "bench").mkdir(parents=True, exist_ok=True)
    path, rows = _stored_rows_file(_csv_file(CUSTOMERS))
    columns = "workspace_id, external_id, email, phone, timezone, locale, attributes, tags, push_tokens, unsubscribed, created_at, updated_at"
    timings = []
    with _raw_connection() as conn:
        for _ in range(COPY_RUNS):
            conn.execute("DROP SCHEMA IF EXISTS bench_reference CASCADE")
            conn.execute("CREATE SCHEMA bench_reference")
            # The model's own DDL (columns, unique constraint, every index of its Meta) in a schema
            # of its own, so its index names do not meet the real table's.
            with connection.cursor() as cursor:
                cursor.execute("SET search_path TO bench_reference")
                try:
                    with connection.schema_editor() as editor:
                        editor.create_model(Customer)
                finally:
                    cursor.execute("SET search_path TO DEFAULT")
            started = time.perf_counter()
            with conn.cursor() as cursor, open(path, "rb") as f:
                with cursor.copy(f"COPY bench_reference.audiences_customer ({columns}) FROM STDIN") as copy:
                    while block := f.read(1 << 20):
                        copy.write(block)
            timings.append(time.perf_counter() - started)
        indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'bench_reference'").fetchone()[0]
        conn.execute("DROP SCHEMA bench_reference CASCADE")
    seconds = statistics.median(timings)
    return rows / seconds, f"{rows:,} rows (the import's stored rows), {indexes} indexes, {_runs(timings)}"


def _runs(timings: list[float]) -> str:
    if len(timings) == 1:
        return f"one run: {timings[0]:.2f} s"
    return f"median of {len(timings)}: {statistics.median(timings):.2f} s ({', '.join(f'{t:.2f}' for t in timings)})"


PHONE_SAMPLE = int(os.environ.get("BENCH_REFERENCE_PHONES", 200_000))


def phonenumbers_numbers_s() -> tuple[float, str]:
    import phonenumbers

    from bench.bench_audiences import phone_numbers

    numbers = phone_numbers()[:PHONE_SAMPLE]
    started = time.perf_counter()
    for raw in numbers:
        try:
            number = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    seconds = time.perf_counter() - started
    return len(numbers) / seconds, f"{len(numbers):,} numbers, {1e6 * seconds / len(numbers):.1f} µs a number"


def raw_insert_events_s() -> tuple[float, str]:
    with _raw_connection() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_reference_event")
        conn.execute(
            "CREATE TABLE bench_reference_event (id bigint GENERATED BY DEFAULT AS IDENTITY, workspace_id bigint,"
            " customer_id bigint, name varchar(200), properties jsonb, occurred_at timestamptz,"
            " received_at timestamptz, idempotency_id varchar(255))"
        )
    sql = (
        "INSERT INTO bench_reference_event (workspace_id, customer_id, name, properties, occurred_at, received_at,"
        " idempotency_id) VALUES " + ", ".join(["(1, %s, %s, %s::jsonb, %s, now(), %s)"] * INSERT_BATCH)
    )
    sent: list[int] = []

    def client(seed: int) -> None:
        # The parameters are built once: the reference measures PostgreSQL, not this loop.
        rnd = random.Random(seed)
        params = []
        for i in range(INSERT_BATCH):
            params += [seed * INSERT_BATCH + i, ("view", "purchase")[i % 2],
                       json.dumps(event_properties(rnd)), "2026-01-01T00:00:00Z", f"{seed}-{i}"]
        count = 0
        with _raw_connection() as conn:
            while time.monotonic() < stop_at:
                conn.execute(sql, params)
                count += INSERT_BATCH
        sent.append(count)

    started = time.monotonic()
    stop_at = started + INSERT_SECONDS
    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(INSERT_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    with _raw_connection() as conn:
        conn.execute("DROP TABLE bench_reference_event")
    return sum(sent) / elapsed, f"{sum(sent):,} events, {INSERT_CLIENTS} clients, {elapsed:.1f} s"


def celery_noop_tasks_s() -> tuple[float, str]:
    from workspaces.redis import get_redis

    redis = get_redis()
    counter = f"bench:reference:noop:{os.getpid()}:{time.time()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", QUEUE, "-c", "2", "--pool", "prefork",
         "-n", f"bench-reference-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--include", "bench.bench_reference", "-l", "WARNING"],
        cwd=ROOT, env={**os.environ, "LOG_LEVEL": "WARNING"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        noop_task.apply_async(args=[counter], queue=QUEUE)  # warm-up: the worker is up once this ran
        _wait(lambda: redis.get(counter) is not None, timeout=60, what="the reference worker to start")
        redis.delete(counter)
        worker_cpu, sender_cpu = tree_cpu_seconds(worker.pid), time.process_time()
        started = time.perf_counter()
        for _ in range(NOOP_TASKS):
            noop_task.apply_async(args=[counter], queue=QUEUE)
        sent = time.perf_counter() - started
        sender_cpu = time.process_time() - sender_cpu
        _wait(lambda: int(redis.get(counter) or 0) >= NOOP_TASKS, timeout=300, what="the no-op tasks")
        elapsed = time.perf_counter() - started
        worker_cpu = tree_cpu_seconds(worker.pid) - worker_cpu
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        redis.delete(counter)
    # The CPU per task says what the rate would be on an idle machine (2 cores / µs per task):
    # the worker's main process (receive, ack bookkeeping in Redis) is most of it.
    return NOOP_TASKS / elapsed, (
        f"{NOOP_TASKS:,} tasks, 1 worker × 2 prefork children, {elapsed:.1f} s ({sent:.1f} s sending); CPU per task:"
        f" worker {worker_cpu / NOOP_TASKS * 1e6:.0f} µs + sender {sender_cpu / NOOP_TASKS * 1e6:.0f} µs"
    )


def redis_zadd_zpop_s() -> tuple[float, str]:
    from workspaces.redis import get_redis

    redis = get_redis()
    key = f"bench:reference:zset:{os.getpid()}"
    redis.delete(key)
    started = time.perf_counter()
    for i in range(0, ZSET_MEMBERS, 1000):
        pipe = redis.pipeline(transaction=False)
        for member in range(i, min(i + 1000, ZSET_MEMBERS)):
            pipe.zadd(key, {str(10_000_000 + member): 1.8e9 + member / 1000})
        pipe.execute()
    added = time.perf_counter() - started
    popped = 0
    while batch := redis.zpopmin(key, 1000):
        popped += len(batch)
    elapsed = time.perf_counter() - started
    return (ZSET_MEMBERS + popped) / elapsed, (
        f"{ZSET_MEMBERS:,} members: ZADD {ZSET_MEMBERS / added:,.0f}/s, ZPOPMIN {popped / (elapsed - added):,.0f}/s"
    )


def _wait(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.02)


MEASURES = {
    "raw_copy_rows_s": (raw_copy_rows_s, "rows/s"),
    "indexed_copy_rows_s": (indexed_copy_rows_s, "rows/s"),
    "phonenumbers_numbers_s": (phonenumbers_numbers_s, "numbers/s"),
    "raw_insert_events_s": (raw_insert_events_s, "events/s"),
    "celery_noop_tasks_s": (celery_noop_tasks_s, "tasks/s"),
    "redis_zadd_zpop_s": (redis_zadd_zpop_s, "ops/s"),
}


def run() -> list[dict]:
    """Measures every reference, publishes it (bench.references) and returns one row each."""
    import django

    django.setup()
    from bench import references

    rows = []
    # BENCH_REFERENCES=raw_insert_events_s,… measures only those (a quick run of one benchmark).
    wanted = [n for n in os.environ.get("BENCH_REFERENCES", "").split(",") if n] or list(MEASURES)
    if unknown := set(wanted) - set(MEASURES):
        raise SystemExit(f"no such reference: {', '.join(sorted(unknown))}")
    for name, (measure, unit) in ((n, MEASURES[n]) for n in wanted):
        started = time.monotonic()
        rate, detail = measure()
        # At bench-scale sizes the COPY references (with their files' preparation) take minutes.
        print(f"[bench_reference] {name} in {time.monotonic() - started:.1f} s", flush=True)
        references.publish(name, rate)
        rows.append({"path": f"reference {name}: {references.NAMES[name]}", "figure": round(rate), "unit": unit,
                     "target": None, "ok": True, "note": f"{detail}; load average {os.getloadavg()[0]:.1f}"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['figure']:>12,} {row['unit']:<9} {row['path']} ({row['note']})")
