"""The one place the journeys app hands work to workers: engine batches, timer wakes, signals,
trigger and lifecycle tasks, queued by Celery task name (so nothing imports journeys.tasks, which
imports the services), and the one place it defers work until the caller's transaction commits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
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
PROFILE_CHANGES_TASK = "journeys.tasks.profile_changes_task"

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


# Profiles changed by journeys' own update steps reach the profile-change hook (other journeys'
# exit conditions and goals, finished enrollments' goals, wallet passes) coalesced: an engine run
# adds its customers to the workspace's set in Redis, and the first to find no drain queued queues
# one PROFILE_CHANGES_DELAY later, which takes the whole set. Fired from every run, the hook's
# lookups (live enrollments, goal windows, passes) cost the engine ~8 µs of CPU a node execution
# (runs are small: a timer wake's batch), once a second they cost a set-based pass. A change seen
# by nobody (Redis lost the set) is what a crash between commit and an after-commit hook loses.
PROFILE_CHANGES_DELAY = 1.0
_PROFILE_CHANGES_TTL = 60  # s: a drain that never ran (a worker lost it) stops blocking the next


def _profile_changes_key(workspace_id: int) -> str:
    return f"journeys:profile-changes:{workspace_id}"


def profile_changes_send(by_workspace: dict[int, list[int]]) -> None:
    """Notes the customers each workspace's journeys changed and queues the drain where none is
    queued (called after commit)."""
    from workspaces.redis import get_redis

    redis = get_redis()
    pipe = redis.pipeline(transaction=False)
    for workspace_id, customer_ids in by_workspace.items():
        key = _profile_changes_key(workspace_id)
        pipe.sadd(key, *customer_ids)
        pipe.set(f"{key}:queued", 1, nx=True, ex=_PROFILE_CHANGES_TTL)
    answers = pipe.execute()
    for workspace_id, queued in zip(by_workspace, answers[1::2], strict=True):
        if queued:
            _send(PROFILE_CHANGES_TASK, args=[workspace_id], countdown=PROFILE_CHANGES_DELAY)


def profile_changes_take(workspace_id: int, *, chunk: int) -> Iterator[list[int]]:
    """The customers noted for the workspace, taken out a chunk at a time as the caller asks (a
    workspace whose journeys changed a million profiles is never held in memory at once, and a
    crash loses at most the chunk in hand). The queued mark goes first: a run that notes customers
    after it queues the next drain, one that noted them before is read here."""
    from workspaces.redis import get_redis

    redis = get_redis()
    key = _profile_changes_key(workspace_id)
    redis.delete(f"{key}:queued")
    while members := redis.spop(key, chunk):
        yield sorted(int(m) for m in members)


def journey_entry_enqueue(journey_id: int) -> None:
    """Enrolls a segment/list/all journey's audience in a worker, after commit."""
    transaction.on_commit(lambda: _send(JOURNEY_ENTRY_TASK, args=[journey_id]))


def journey_release_enqueue(journey_id: int) -> None:
    """Releases what became due while a journey was paused, in a worker, after commit."""
    transaction.on_commit(lambda: _send(JOURNEY_RELEASE_TASK, args=[journey_id]))
