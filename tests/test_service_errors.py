"""Services and selectors refuse with one error family (workspaces.errors: ServiceValidationError,
Conflict, ObjectNotFound), which the exception handler alone turns into the API's error body; they
never raise DRF's exceptions, which belong to the views."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("workspaces", "audiences", "templating", "journeys", "channels_app", "analytics", "webhooks_out")


def _service_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel.parent.name == "services" or rel.stem in ("services", "selectors", "enrollments", "lifecycle", "experiments"):
                yield rel, path


def test_no_service_or_selector_raises_drf_exceptions():
    offenders = []
    for rel, path in _service_modules():
        tree = ast.parse(path.read_text(), filename=str(rel))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rest_framework.exceptions"):
                offenders.append(f"{rel}:{node.lineno} imports rest_framework.exceptions")
            if isinstance(node, ast.ImportFrom) and node.module == "rest_framework":
                if any(alias.name in ("exceptions", "serializers") for alias in node.names):
                    offenders.append(f"{rel}:{node.lineno} imports DRF's exceptions or serializers")
    assert not offenders, "\n".join(offenders)


def test_the_modules_checked_include_every_apps_services():
    checked = {str(rel) for rel, _ in _service_modules()}
    for expected in ("audiences/services.py", "journeys/services.py", "journeys/enrollments.py",
                     "channels_app/services/channels.py", "analytics/selectors.py"):
        assert expected in checked
