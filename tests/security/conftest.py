"""The closing figures of the fuzz tests (issue #11): how many inputs hypothesis and schemathesis
tried in this run, and how schemathesis' calls were answered, printed after the test summary."""

from __future__ import annotations

import re
from collections import Counter

import pytest

# The hypothesis pytest plugin keeps each test's statistics on its report (the text that
# --hypothesis-show-statistics prints); every phase has a line like this one.
_PHASE_CASES = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")
API_ANSWERS = pytest.StashKey[Counter]()


@pytest.fixture
def api_answers(pytestconfig) -> Counter:
    """Status codes of every schemathesis call in the session."""
    return pytestconfig.stash.setdefault(API_ANSWERS, Counter())


def pytest_terminal_summary(terminalreporter, config):
    tried = tests = 0
    for reports in terminalreporter.stats.values():
        for report in reports:
            stats = getattr(report, "_hypothesis_stats", None)
            if getattr(report, "when", None) == "teardown" and stats:  # where the plugin puts them
                tests += 1
                tried += sum(int(passing) + int(failing) for passing, failing, _ in _PHASE_CASES.findall(stats))
    answers = config.stash.get(API_ANSWERS, Counter())
    if not tests and not answers:
        return
    terminalreporter.write_sep("-", "fuzzing figures")
    terminalreporter.write_line(f"hypothesis: {tried} generated inputs in {tests} tests (one per schemathesis "
                                f"operation; schemathesis adds its own coverage cases, counted below)")
    if answers:
        server_errors = sum(n for status, n in answers.items() if status >= 500)
        by_status = ", ".join(f"{status}: {n}" for status, n in sorted(answers.items()))
        terminalreporter.write_line(
            f"schemathesis: {sum(answers.values())} API calls ({by_status}); server errors: {server_errors}"
        )
