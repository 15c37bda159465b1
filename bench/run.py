"""`make bench`: run every bench/bench_*.py module, print one table, write bench/results.json.

A module exposes `run() -> list[dict]`; each dict has at least `path` (what was measured),
`figure` (the number), `unit` and `target` (the figure to reach, from LIMITS.md or the issue)."""

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
COLUMNS = ("path", "figure", "unit", "target")


def discover() -> list[str]:
    return [f"bench.{path.stem}" for path in sorted(BENCH_DIR.glob("bench_*.py"))]


def run_all(modules: list[str]) -> list[dict]:
    rows = []
    for name in modules:
        short = name.removeprefix("bench.")
        started = time.monotonic()
        try:
            results = importlib.import_module(name).run()
        except Exception:  # one broken benchmark must not cost the others their figures
            traceback.print_exc()
            rows.append({"module": short, "path": "(failed, see traceback)", "error": True})
            continue
        elapsed = time.monotonic() - started
        print(f"[bench] {name}: {len(results)} figures in {elapsed:.1f} s", flush=True)
        rows += [{"module": short, **row} for row in results]
    return rows


def table(rows: list[dict]) -> str:
    headers = ("module", *COLUMNS)
    cells = [[_cell(row.get(key)) for key in headers] for row in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    if not rows:
        lines.append("(no bench/bench_*.py modules yet)")
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def main() -> int:
    modules = discover()
    if modules:
        rows = _with_services(modules)
    else:
        rows = []
    print(table(rows))
    RESULTS.write_text(
        json.dumps(
            {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "results": rows},
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(BENCH_DIR.parent)}")
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
        return run_all(modules)


if __name__ == "__main__":
    sys.exit(main())
