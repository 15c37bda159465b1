"""`make test`: the whole suite — the front-end build (browser tests use it), pytest against real
PostgreSQL and Redis (embedded, in a throwaway directory, when DATABASE_URL / REDIS_URL are
unset), then the front end's Vitest. Every part runs and is reported even when one fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from devtools.services import BASE_DIR, load_dotenv, services

PYTEST_NO_TESTS = 5  # pytest's "no tests were collected"; the suite is never empty, so it fails


def main(pytest_args: list[str]) -> int:
    load_dotenv()
    try:
        # Through make, so an unchanged front end is not rebuilt; a broken build must not hide
        # the back-end results, so it is a reported failure rather than a stop.
        build_rc = _call(
            [os.environ.get("MAKE", "make"), "--no-print-directory", "frontend"], cwd=BASE_DIR
        )
        # Parallel runs (several engineers, CI) each get their own servers: nothing is shared.
        with tempfile.TemporaryDirectory(prefix="waymark-test-") as data_dir:
            with services(Path(data_dir), durable=False) as urls:
                env = {**os.environ, **urls}
                # Tests run fake webhook and SMTP servers on this machine.
                env.setdefault("OUTBOUND_ALLOWED_HOSTS", "127.0.0.1,localhost")
                report = Path(data_dir) / "pytest.xml"
                pytest_rc = _call(
                    [sys.executable, "-m", "pytest", f"--junit-xml={report}", *pytest_args],
                    env=env,
                )
                failures = _failures(report)
        vitest_rc = _vitest()
    except KeyboardInterrupt:
        return 130

    codes = {"build": build_rc, "pytest": pytest_rc, "vitest": vitest_rc}
    results = {name: _describe(rc) for name, rc in codes.items()}
    if pytest_rc == PYTEST_NO_TESTS:
        results["pytest"] = "FAILED: no tests were collected"
    if failures:
        # Again at the very end: a CI log is often read from its tail, where Vitest's output
        # would otherwise sit on top of pytest's own summary.
        print("\npytest failures:\n" + "\n".join(f"  {line}" for line in failures))
    print("\n" + "\n".join(f"{name:>7}: {outcome}" for name, outcome in results.items()))
    return next((rc for rc in codes.values() if rc != 0), 0)


def _failures(report: Path) -> list[str]:
    """`test id: first line of its message` for each failed or errored test in a JUnit report."""
    if not report.exists():
        return []
    lines = []
    for case in ET.parse(report).getroot().iter("testcase"):
        for problem in (*case.findall("failure"), *case.findall("error")):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            message = (problem.get("message") or problem.tag).strip().splitlines() or [problem.tag]
            lines.append(f"{problem.tag.upper()} {name}: {message[0][:300]}")
    return lines


def _vitest() -> int:
    frontend = BASE_DIR / "frontend"
    if shutil.which("npm") is None or not (frontend / "node_modules").exists():
        print(
            "vitest: npm or frontend/node_modules missing (make test installs them)",
            file=sys.stderr,
        )
        return 1
    return _call(["npm", "test", "--silent"], cwd=frontend)


def _call(cmd: list[str], **kwargs) -> int:
    """Run a child in our process group, so Ctrl-C reaches it too; on Ctrl-C let it report and
    exit before the services stop under it, then stop the whole run."""
    proc = subprocess.Popen(cmd, **kwargs)
    interrupted = False
    while True:
        try:
            rc = proc.wait()
            break
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt
    return rc


def _describe(rc: int) -> str:
    return "passed" if rc == 0 else f"FAILED (exit code {rc})"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
