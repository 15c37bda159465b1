"""Engine test fixtures: a real Celery worker plus the real timer pump in a thread."""

from __future__ import annotations

import threading
import time

import pytest

from journeys.timers import TimerProcess
from workspaces.redis import get_redis

QUEUES = ("engine", "messages", "imports", "default")


def settle(timeout: float = 10.0) -> None:
    """Waits until the broker queues are empty and the worker runs nothing, so no task of this
    test touches the database while the next one flushes it."""
    from celery.worker import state

    redis = get_redis()
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        busy = any(redis.llen(q) for q in QUEUES) or state.active_requests or state.reserved_requests
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.3:
            return
        time.sleep(0.05)


@pytest.fixture
def timers_pump(transactional_db):
    """The `timers` process (pump every 50 ms, reconciler every 2 s) in a thread."""
    process = TimerProcess(reconcile_seconds=2.0)
    thread = threading.Thread(target=process.run, name="timers", daemon=True)
    thread.start()
    yield process
    process.stop()
    thread.join(timeout=5)


@pytest.fixture
def engine(celery_worker, timers_pump):
    """Everything that moves customers: a worker on every queue and the timer pump."""
    yield celery_worker
    timers_pump.stop()
    settle()
