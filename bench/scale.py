"""`make bench-scale` (not part of `make bench`; ≤ 45 minutes on a quiet 2-core machine): the same
benchmarks at 5,000,000 customers and 50,000,000 events, one table as `make bench` prints it, plus
the size on disk of every database they filled, in this order (estimated for a quiet machine
from reduced runs of the same flow: ~30 minutes in all, the segments' histories a third of it):

- references first (bench_reference), so every row has its ratio: the plain COPY of the 5M-row
  import CSV and the COPY of its ~4M stored rows into a table indexed like customers, each run
  once at this size (a run is a minute, not seconds; `make bench` takes the median of three);
- import: PUT /customers/import of that 5M-row CSV, then POST /events for 60 s and a segment count
  over those 5M customers (bench_audiences, its own database);
- segment count and journey branch over 5M customers × 50M events generated in PostgreSQL, and
  first at the issue's own size, 1M customers × 20M events (bench_segments, BENCH_SEGMENT_EXTRA;
  ~4 more minutes: its own history, and the main size's two event indexes are then rebuilt over
  70M rows instead of 50M; ~5 GB; only when the main size is above it, so not in a reduced run);
- engine throughput (bench_engine, its usual journey of 100,000 customers) after the segments, on
  the database holding their 5M customers and 50M events;
- analytics p95 over 2M enrollments, ~10M step events (bench_analytics), on that database too.

After each module the size of every database is printed; the last rows give each database's size
with its largest tables and its size after each module. The modules' code paths and sizes of work
are `make bench`'s; only the sizes below differ. Each can still be overridden from the environment
(the knobs of each module: a reduced run of the same flow is
`BENCH_CUSTOMERS=500000 BENCH_SEGMENT_CUSTOMERS=500000 BENCH_SEGMENT_EVENTS=5000000
BENCH_ANALYTICS_ENROLLMENTS=200000 python -m bench.scale`); the generated CSV, its stored rows and
the phone file are kept under .data/bench for the next run. Named modules run alone, in this order:
`python -m bench.scale segments engine`."""

from __future__ import annotations

import os
import sys

SCALE = {
    "BENCH_CUSTOMERS": "5000000",  # bench_audiences import / ingest / count, bench_reference's COPY
    "BENCH_SEGMENT_CUSTOMERS": "5000000",
    "BENCH_SEGMENT_EVENTS": "50000000",
    "BENCH_ANALYTICS_ENROLLMENTS": "2000000",  # ~10M step events
    "BENCH_ENGINE_PARTS": "throughput",  # the engine figure the issue asks for at this size
    "BENCH_ENGINE_KEEP_DATABASE": "1",  # a database named waymark_bench_* is not recreated for it
    "BENCH_PHONES": "1000000",
    "BENCH_REFERENCE_COPY_RUNS": "1",
    "BENCH_DATABASE_SIZES": "1",  # bench/run.py: database sizes after each module and at the end
    # The 5M-row CSV is ~640 MB: above the import cap (256 MiB) and the request body cap (266 MiB).
    "IMPORT_MAX_BYTES": str(1024 * 1024 * 1024),
    "MAX_UPLOAD_SIZE": str(1034 * 1024 * 1024),
}
# The issue's targets for the segment rows are at this size.
ISSUE_SEGMENT_SIZE = (1_000_000, 20_000_000)
# bench/run.py keeps this order (the reference first, analytics last).
MODULES = ["reference", "audiences", "segments", "engine", "analytics"]


def main() -> int:
    for name, value in SCALE.items():
        os.environ.setdefault(name, value)
    if int(os.environ["BENCH_SEGMENT_EVENTS"]) > ISSUE_SEGMENT_SIZE[1]:
        os.environ.setdefault("BENCH_SEGMENT_EXTRA", "x".join(map(str, ISSUE_SEGMENT_SIZE)))
    from bench import run

    wanted = sys.argv[1:]
    return run.main(
        [name for name in MODULES if name in wanted] + [n for n in wanted if n not in MODULES]
        if wanted
        else MODULES
    )


if __name__ == "__main__":
    sys.exit(main())
