"""The one place the journeys app hands work to workers: engine batches, timer wakes, signals,
trigger and lifecycle tasks, queued by Celery task name (so nothing imports journeys.tasks, which
imports the services), and the one place it defers work until the caller's transaction commits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

# The registered task names (journeys/tasks.py): tasks of an older release may still sit in a
# queue, so they never change.
ADVANCE_TASK = "journeys.tasks.advance_task"
EVENTS_PROCESS_TASK = "journeys.tasks.events_process_task"
CUSTOMERS_CHANGED_TASK = "journeys.tasks.customers_changed_task"
JOURNEY_ENTRY_TASK = "journeys.tasks.journey_entry_task"
JOURNEY_RELEASE_TASK = "journeys.tasks.journey_release_task"

# LIMITS.md: ~100 enrollments per task with set-based SQL reaches ~29k steps/s; per-customer tasks
# stall at ~680/s. 250 halves the per-task overhead again (Celery ~1 ms of CPU per task) while a
# batch still commits within tens of milliseconds. (500 was no better in one bench run under
# load ~18: 89 µs CPU per step against 67 µs at 250.)
BATCH_SIZE = 250
# The timer pump's wake batches have their own queue (config/celery.py), so they do not wait
# behind bulk enrollments on `engine`.
WAKE_QUEUE = "timers"
EVENTS_PER_TASK = 1000


def _send(name: str, **options: Any) -> None:
    # ignore_result: as the tasks declare it (their apply_async put it in the message).
    current_app.send_task(name, ignore_result=True, **options)


# ---- After commit -----------------------------------------------------------------------------
def after_commit(fn: Callable[[], Any]) -> None:
    """Runs `fn` once the current transaction commits (at once outside one): no worker may read
    a row that could still roll back."""
    transaction.on_commit(fn)


def after_commit_each(parts: Iterable[Callable[[], Any]]) -> None:
    """Runs each part after commit, each on its own: a Redis blip in one must not cost the
    others (a timer that failed to set is restored by the reconciler from wake_at)."""
    parts = list(parts)

    def run() -> None:
        for part in parts:
            try:
                part()
            except Exception:
                logger.exception("after-commit step failed")

    transaction.on_commit(run)


# ---- Engine batches ---------------------------------------------------------------------------
def _chunks(seq: list, size: int):
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def advance_send(items: list[list], *, batch_size: int = BATCH_SIZE) -> None:
    """Queues engine batches now: items are [enrollment_id, expected step_seq | None, wake | None]."""
    for chunk in _chunks(items, batch_size):
        _send(ADVANCE_TASK, args=[chunk])


def advance_enqueue(items: Iterable[list], *, batch_size: int = BATCH_SIZE) -> None:
    """Queues engine batches after the current transaction commits (at once outside one)."""
    items = list(items)
    if items:
        transaction.on_commit(lambda: advance_send(items, batch_size=batch_size))


def advance_retry(items: list[list], *, attempt: int) -> None:
    """Re-queues items whose rows another batch held (SKIP LOCKED), backing off per attempt."""
    for chunk in _chunks(items, BATCH_SIZE):
        _send(ADVANCE_TASK, args=[chunk], kwargs={"attempt": attempt + 1}, countdown=0.05 * (attempt + 1))


def signal(*, enrollment_id: int, step_seq: int, payload: dict) -> None:
    """Wakes one waiting enrollment at `step_seq` with `payload` (after the caller's commit); a
    no-op when the enrollment has moved on."""
    advance_enqueue([[enrollment_id, step_seq, {"kind": "signal", "payload": payload}]])


def timer_wakes_send(ids: list[int], *, batch_size: int) -> None:
    """Queues due timers (popped from Redis by the pump, outside any transaction) as engine
    batches on the wake queue."""
    for chunk in _chunks(ids, batch_size):
        # argsrepr: Celery would otherwise saferepr() the whole batch into the message headers (a
        # sixth of the pump's time, profiled); the ids are in the body anyway.
        _send(
            ADVANCE_TASK,
            args=[[[x, None, {"kind": "timer"}] for x in chunk]],
            queue=WAKE_QUEUE,
            argsrepr=f"[{len(chunk)} timer wakes from {chunk[0]}]",
            kwargsrepr="{}",
        )


# ---- Triggers and lifecycle ---------------------------------------------------------------------
def events_process_enqueue(workspace_id: int, event_ids: list[int]) -> None:
    """Queues stored events' processing (entries, exits, goals, event waits), one task per
    EVENTS_PER_TASK events, after commit."""
    ids = list(event_ids)

    def send() -> None:
        for chunk in _chunks(ids, EVENTS_PER_TASK):
            _send(EVENTS_PROCESS_TASK, args=[workspace_id, chunk])

    transaction.on_commit(send)


def customers_changed_enqueue(workspace_id: int, customer_ids: list[int]) -> None:
    ids = list(customer_ids)
    transaction.on_commit(lambda: _send(CUSTOMERS_CHANGED_TASK, args=[workspace_id, ids]))


def journey_entry_enqueue(journey_id: int) -> None:
    """Enrolls a segment/list/all journey's audience in a worker, after commit."""
    transaction.on_commit(lambda: _send(JOURNEY_ENTRY_TASK, args=[journey_id]))


def journey_release_enqueue(journey_id: int) -> None:
    """Releases what became due while a journey was paused, in a worker, after commit."""
    transaction.on_commit(lambda: _send(JOURNEY_RELEASE_TASK, args=[journey_id]))
