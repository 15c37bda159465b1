"""`make bench`: run every bench/bench_*.py module, print one table, write bench/results.json.

A module exposes `run() -> list[dict]`; each dict has at least `path` (what was measured),
`figure` (the number), `unit`, `target` (the figure to reach, from LIMITS.md or the issue) and
`ok`; optionally `reference`, the name of a rate bench/bench_reference.py measured in this run
(bench/references.py), which gives the row its `ratio = figure / reference`, and a `note`.

Order: bench_reference first (the others are judged against it); then every module that has a
`start()` is started, so its background work (the memory soak) overlaps the others; then the
rest run one by one, and the started ones last. `python -m bench.run reference memory` runs only
the named modules (the sizes have env knobs in each module for a quick run)."""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
COLUMNS = ("path", "figure", "unit", "target", "reference", "ratio", "ok")
FIRST = "bench.bench_reference"
LAST = "bench.bench_analytics"
TIMES: dict[str, float] = {}  # module → seconds it took in this run
SIZES: dict[
    str, dict[str, int]
] = {}  # module → {database: bytes on disk} after it (BENCH_DATABASE_SIZES)


def discover(only: list[str] | None = None) -> list[str]:
    """Every module in name order, or the named ones in the order given (bench/scale.py runs the
    engine after the segments' history, on the database holding it); the reference first and
    analytics last either way."""
    names = [f"bench.{path.stem}" for path in sorted(BENCH_DIR.glob("bench_*.py"))]
    if only:
        wanted = list(dict.fromkeys(f"bench.bench_{name.removeprefix('bench_')}" for name in only))
        if unknown := set(wanted) - set(names):
            raise SystemExit(f"no such benchmark: {', '.join(sorted(unknown))}")
        names = wanted
    # The analytics benchmark bulk-loads 8M rows into the tables the engine writes; run after
    # it, the engine figures would measure autovacuum of that load, not the engine.
    return sorted(names, key=lambda name: (name != FIRST, name == LAST))


def run_all(modules: list[str]) -> list[dict]:
    if "bench.bench_scaling" in modules:
        # bench_scaling measures 1/2/4 workers; bench_engine's own copy of that run ("scale")
        # would spend ~2 minutes of the 15 on the same figures.
        os.environ.setdefault("BENCH_ENGINE_PARTS", "events,throughput,keyed,timers")
    rows, loaded = [], {}
    for name in modules:
        try:
            loaded[name] = importlib.import_module(name)
        except Exception:
            traceback.print_exc()
            rows.append(
                {
                    "module": name.removeprefix("bench."),
                    "path": "(failed to import, see traceback)",
                    "error": True,
                }
            )
    background = [
        name for name, module in loaded.items() if name != FIRST and hasattr(module, "start")
    ]
    if FIRST in loaded:
        rows += _run_one(FIRST, loaded[FIRST])
    for name in background:
        loaded[name].start()
    for name in [name for name in loaded if name != FIRST and name not in background] + background:
        rows += _run_one(name, loaded[name])
    return [_with_ratio(row) for row in rows]


def _run_one(name: str, module) -> list[dict]:
    from django.db import connections

    short = name.removeprefix("bench.")
    started = time.monotonic()
    connections.close_all()  # a module may have recreated the database the last one used
    try:
        results = module.run()
    except Exception:  # one broken benchmark must not cost the others their figures
        traceback.print_exc()
        return [{"module": short, "path": "(failed, see traceback)", "error": True}]
    elapsed = time.monotonic() - started
    TIMES[short] = round(elapsed, 1)
    print(
        f"[bench] {name}: {len(results)} figures in {elapsed:.1f} s, load average {_load()}",
        flush=True,
    )
    if os.environ.get("BENCH_DATABASE_SIZES"):
        connections.close_all()  # a fresh connection, whatever the module did to its own
        SIZES[short] = _sizes()
        print(
            f"[bench] databases after {short}: "
            + ", ".join(f"{db} {size / 1e9:.2f} GB" for db, size in SIZES[short].items()),
            flush=True,
        )
    return [{"module": short, **row} for row in results]


def _with_ratio(row: dict) -> dict:
    """ratio = figure / the named reference measured in this run; blank when it was not."""
    from bench import references

    name = row.get("reference")
    if not isinstance(name, str) or not isinstance(row.get("figure"), int | float):
        return row
    rate = references.get(name) if name in references.NAMES else None
    return {**row, "ratio": round(row["figure"] / rate, 3) if rate else None}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def table(rows: list[dict]) -> str:
    headers = ("#", "module", *COLUMNS)
    cells = [
        [_cell(i), *(_cell(row.get(key)) for key in headers[1:])] for i, row in enumerate(rows, 1)
    ]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    if not rows:
        lines.append("(no bench/bench_*.py modules yet)")
    notes = [f"  [{i}] {row['note']}" for i, row in enumerate(rows, 1) if row.get("note")]
    if notes:
        lines += ["", "notes (by row number):", *notes]
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, bool):
        return "ok" if value else "MISS"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def main(only: list[str]) -> int:
    modules = discover(only)
    started, load_before = time.monotonic(), _load()
    rows = _with_services(modules) if modules else []
    elapsed = time.monotonic() - started
    print(table(rows))
    from bench import references

    print(
        f"\n{len(modules)} modules in {elapsed / 60:.1f} min ("
        + ", ".join(f"{name} {seconds / 60:.1f}" for name, seconds in TIMES.items())
        + f"); load average {load_before} before, {_load()} after"
    )
    RESULTS.write_text(
        json.dumps(
            {
                "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "seconds": round(elapsed, 1),
                "load_average": {"before": load_before, "after": _load()},
                "module_seconds": TIMES,
                "references": {
                    name: round(rate, 1) for name, rate in references.measured().items()
                },
                "results": rows,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(BENCH_DIR.parent)}")
    return 1 if any(row.get("error") for row in rows) else 0


def _with_services(modules: list[str]) -> list[dict]:
    """Benchmarks need Django on real PostgreSQL and Redis: embedded ones (durable, as in
    production) in a throwaway directory unless DATABASE_URL / REDIS_URL are given."""
    from devtools.services import load_dotenv, services

    load_dotenv()
    with (
        tempfile.TemporaryDirectory(prefix="waymark-bench-") as data_dir,
        services(Path(data_dir)) as urls,
    ):
        os.environ.update(urls)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        rows = run_all(modules)
        return rows + (_database_sizes() if os.environ.get("BENCH_DATABASE_SIZES") else [])


def _sizes() -> dict[str, int]:
    """Every database on the benchmarks' server with its size on disk, largest first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname, pg_database_size(datname) FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'"
            " ORDER BY 2 DESC"
        )
        return dict(cursor.fetchall())


# A partitioned table (events, step events) counts as the sum of its partitions, which are not
# listed on their own (nor is the parent's own estimate of its rows, the partitions' total again);
# heap and indexes apart, with the rows PostgreSQL estimates.
LARGEST_TABLES = """
SELECT c.relname, sum(pg_total_relation_size(t.relid))::bigint, sum(pg_indexes_size(t.relid))::bigint,
       sum(greatest(p.reltuples, 0))::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
     LATERAL (SELECT relid FROM pg_partition_tree(c.oid) WHERE isleaf UNION ALL SELECT c.oid WHERE c.relkind = 'r') t JOIN pg_class p ON p.oid = t.relid
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = 'public'
GROUP BY c.relname ORDER BY 2 DESC LIMIT 6
"""
# The months of a partitioned table that hold anything (over 1 MB), with the same figures.
PARTITIONS = """
SELECT p.relname, pg_total_relation_size(p.oid), pg_indexes_size(p.oid), greatest(p.reltuples, 0)::bigint
FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid JOIN pg_class c ON c.oid = i.inhparent
WHERE c.relname = %s AND c.relnamespace = 'public'::regnamespace AND pg_total_relation_size(p.oid) > 1000000
ORDER BY p.relname
"""


def _database_sizes() -> list[dict]:
    """One row per database on the benchmarks' server with its size on disk and its largest
    tables, and what it measured after each module (bench/scale.py)."""
    import psycopg
    from django.db import connection

    params = {
        k: v
        for k, v in connection.get_connection_params().items()
        if k not in ("cursor_factory", "context")
    }
    rows = []
    for name, size in _sizes().items():
        with psycopg.connect(**{**params, "dbname": name}) as conn:
            largest = conn.execute(LARGEST_TABLES).fetchall()
            parts = {table: conn.execute(PARTITIONS, [table]).fetchall() for table, *_ in largest}
        tables = "; ".join(
            f"{table} {_size(total, indexes, tuples)}"
            + "".join(
                f" [{part.removeprefix(table + '_')} {_size(*figures)}]"
                for part, *figures in parts[table]
            )
            for table, total, indexes, tuples in largest
        )
        growth = ", ".join(
            f"{module} {sizes[name] / 1e9:.2f}" for module, sizes in SIZES.items() if name in sizes
        )
        rows.append(
            {
                "module": "scale",
                "path": f"database {name} on disk",
                "figure": round(size / 1e9, 2),
                "unit": "GB",
                "target": None,
                "ok": True,
                "note": f"largest tables: {tables}"
                + (f"; GB after each module: {growth}" if growth else ""),
            }
        )
    return rows


def _size(total: int, indexes: int, tuples: int) -> str:
    return f"{total / 1e9:.2f} GB ({indexes / 1e9:.2f} of it indexes, ~{tuples:,} rows)"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
