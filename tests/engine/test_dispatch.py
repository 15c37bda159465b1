"""journeys/dispatch.py is the one place the journeys app queues worker tasks and defers work to
after commit; the engine's modules import each other in one direction, and never journeys.tasks."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

import pytest
from django.db import transaction

import journeys
from config.celery import app
from journeys import dispatch
from workspaces.redis import get_redis

JOURNEYS = Path(journeys.__file__).parent
# The modules that once imported each other in a loop (hidden by imports inside functions).
ENGINE_SIDE = ("dispatch", "engine", "enrollments", "lifecycle", "tasks", "timers", "triggers")
QUEUEING = {"delay", "apply_async", "send_task", "on_commit"}


def _sources(name: str) -> list[Path]:
    package = JOURNEYS / name
    return sorted(package.glob("*.py")) if package.is_dir() else [JOURNEYS / f"{name}.py"]


def _journeys_imports(path: Path) -> list[tuple[str, bool]]:
    """(engine-side module imported, at module level?) for each import in `path`."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(stmt) for stmt in tree.body}
    found = []
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.ImportFrom):
            module = stmt.module or ""
            inside_package = path.parent != JOURNEYS
            if stmt.level == 0 and module.startswith("journeys."):
                parts = module.split(".")[1:]
            elif stmt.level == 1 and not inside_package or stmt.level == 2 and inside_package:
                parts = module.split(".") if module else [a.name for a in stmt.names]
            else:
                continue
            for target in {parts[0]} if module else set(parts):
                if target in ENGINE_SIDE:
                    found.append((target, id(stmt) in top))
    return found


def test_the_engine_side_imports_in_one_direction_at_module_level():
    graph: dict[str, set[str]] = {}
    for name in ENGINE_SIDE:
        for path in _sources(name):
            for target, at_top in _journeys_imports(path):
                assert at_top, f"{path.name} imports {target} inside a function"
                if target != name:
                    graph.setdefault(name, set()).add(target)
    assert not any("tasks" in targets for targets in graph.values())  # Celery finds tasks by name
    assert graph.get("dispatch", set()) == set()  # the bottom of the line

    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import loop: {' -> '.join((*path, name))}"
        if name not in done:
            for target in graph.get(name, ()):
                visit(target, (*path, name))
            done.add(name)

    for name in ENGINE_SIDE:
        visit(name, ())


def test_only_dispatch_queues_tasks_or_defers_to_commit():
    callers = []
    for name in ENGINE_SIDE:
        if name == "dispatch":
            continue
        for path in _sources(name):
            for call in ast.walk(ast.parse(path.read_text())):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in QUEUEING:
                    if call.func.attr == "on_commit" and ast.unparse(call.func.value) == "ctx":
                        continue
                    callers.append(f"{path.name}:{call.lineno} {ast.unparse(call.func)}")
    assert callers == []


def test_dispatch_names_the_registered_tasks():
    import journeys.tasks  # noqa: F401  (what the worker's autodiscovery loads)

    names = [dispatch.ADVANCE_TASK, dispatch.EVENTS_PROCESS_TASK, dispatch.CUSTOMERS_CHANGED_TASK,
             dispatch.JOURNEY_ENTRY_TASK, dispatch.JOURNEY_RELEASE_TASK]
    assert [n for n in names if n not in app.tasks] == []


def _queued(queue: str) -> list[tuple[str, list]]:
    """(task name, args) of the messages on a broker queue, oldest first (kombu pushes left)."""
    found = []
    for raw in reversed(get_redis().lrange(queue, 0, -1)):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], args))
    return found


@pytest.mark.django_db(transaction=True)
def test_a_signal_is_queued_once_after_commit_on_the_engine_queue():
    with transaction.atomic():
        dispatch.signal(enrollment_id=7, step_seq=3, payload={"status": "sent"})
        assert _queued("engine") == []  # nothing leaves before the commit
    assert _queued("engine") == [
        ("journeys.tasks.advance_task", [[[7, 3, {"kind": "signal", "payload": {"status": "sent"}}]]])
    ]


def test_timer_wakes_go_to_the_wake_queue_in_batches():
    dispatch.timer_wakes_send(list(range(1, 6)), batch_size=2)
    timer = {"kind": "timer"}
    assert _queued(dispatch.WAKE_QUEUE) == [
        ("journeys.tasks.advance_task", [[[1, None, timer], [2, None, timer]]]),
        ("journeys.tasks.advance_task", [[[3, None, timer], [4, None, timer]]]),
        ("journeys.tasks.advance_task", [[[5, None, timer]]]),
    ]
    assert _queued("engine") == []
