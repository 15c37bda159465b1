"""Engine test fixtures: a real Celery worker plus the real timer pump in a thread."""

from __future__ import annotations

import threading

import pytest

from journeys.timers import TimerProcess


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
    return celery_worker
