"""Reference rates measured in the same `make bench` run: what this machine does at all for each
kind of work, so a figure can be read as a fraction of it (`ratio = figure / reference`).

bench/bench_reference.py measures them first and publishes them here; a benchmark row names the
one it is judged against (`"reference": "raw_copy_rows_s"`) and bench/run.py fills in the ratio.
A module run alone finds none (`get` answers None) and its ratio stays blank."""

from __future__ import annotations

# name → what was measured (printed under the table)
NAMES = {
    "raw_copy_rows_s": "COPY of the import benchmark's CSV (BENCH_CUSTOMERS rows) into an unindexed table, rows/s",
    "indexed_copy_rows_s": "COPY of the import's stored rows into a table indexed exactly like the customers table, rows/s",
    "phonenumbers_numbers_s": "phonenumbers parse + is_valid_number + format_number, numbers/s",
    "raw_insert_events_s": "INSERT … VALUES of 1,000 events per statement into an unindexed table, events/s",
    # Measured by bench/bench_segments.py on its own generated history (seconds, not rates):
    "event_window_scan_s": "SELECT count(*) of one event name in a 30-day window, index range scan, s",
    "event_batch_probe_s": "SELECT … GROUP BY customer of one event name in 30 days for a batch's customer ids, s",
    "celery_noop_tasks_s": "Celery no-op task round trips (sent → done), tasks/s",
    "redis_zadd_zpop_s": "pipelined Redis ZADD then ZPOPMIN, 1,000 per call, operations/s",
}

_measured: dict[str, float] = {}


def publish(name: str, rate: float) -> None:
    if name not in NAMES:
        raise KeyError(f"unknown reference {name!r}; known: {', '.join(NAMES)}")
    _measured[name] = rate


def get(name: str) -> float | None:
    """The rate measured in this run, or None (not measured: a module run alone)."""
    if name not in NAMES:
        raise KeyError(f"unknown reference {name!r}; known: {', '.join(NAMES)}")
    return _measured.get(name)


def measured() -> dict[str, float]:
    return dict(_measured)
