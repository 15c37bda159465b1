"""Wait timers: Redis sorted sets mirror Enrollment.wake_at (the truth); the pump pops what is due
and queues engine batches; the reconciler restores timers Redis lost and re-queues overdue rows.

Keys: `timers:{shard}` (member = enrollment id, score = wake_at as epoch seconds), shard =
id % TIMER_SHARDS, and `timers:epoch`, a marker whose absence means Redis lost its data."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from workspaces.redis import get_redis

from .dispatch import WAKE_QUEUE, advance_enqueue, timer_wakes_send  # noqa: F401 (WAKE_QUEUE: the pump's queue)

logger = logging.getLogger(__name__)

# Popped per Lua call; LIMITS.md measures ~770k/s at 1,000 per call.
POP_LIMIT = 1000
# Wakes per engine task: one pop's worth. A timer wake is one short resume, so a task's fixed cost
# (Celery, a new PostgreSQL connection, the journey lock, the commit) dominated at the engine's
# 250: measured 51 → 43 µs of worker CPU per wake at 1,000 (in process, a new connection per batch
# as under Celery), PostgreSQL unchanged. Steady load still sends small tasks (5,000 due/s is ~250
# per 50 ms poll).
TASK_BATCH = POP_LIMIT
POLL_SECONDS = 0.05
ZADD_PIPELINE = 1000
EPOCH_KEY = "timers:epoch"
# Waiting rows this far past wake_at are re-queued by the reconciler: well beyond normal pump
# latency, so a busy engine is not flooded with duplicates.
OVERDUE_GRACE = timedelta(seconds=30)
# Active rows are queued the moment they become active; a backlog may legitimately hold them
# for a while, so only a much older one means its task was lost.
STALLED_GRACE = timedelta(minutes=5)
RECONCILE_LIMIT = 20_000

# Pops up to ARGV[2] members scored ≤ ARGV[1] and removes them, atomically.
_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""


def shard_count() -> int:
    return max(1, int(getattr(settings, "TIMER_SHARDS", 1)))


def shard_key(shard: int) -> str:
    return f"timers:{shard}"


def _epoch(at: datetime) -> float:
    return at.timestamp()


def timers_update(*, add: Mapping[int, datetime] | None = None, remove: Iterable[int] = ()) -> None:
    """Sets (one pipelined ZADD per shard) and clears timers."""
    shards = shard_count()
    pipe = get_redis().pipeline(transaction=False)
    adds: dict[int, dict[str, float]] = {}
    for enrollment_id, at in (add or {}).items():
        adds.setdefault(enrollment_id % shards, {})[str(enrollment_id)] = _epoch(at)
    for shard, mapping in adds.items():
        pipe.zadd(shard_key(shard), mapping)
    removes: dict[int, list[str]] = {}
    for enrollment_id in remove:
        removes.setdefault(enrollment_id % shards, []).append(str(enrollment_id))
    for shard, members in removes.items():
        for i in range(0, len(members), ZADD_PIPELINE):
            pipe.zrem(shard_key(shard), *members[i : i + ZADD_PIPELINE])
    if adds or removes:
        pipe.execute()


def timers_pop_due(*, shard: int, now: float, limit: int = POP_LIMIT) -> list[int]:
    popped = get_redis().eval(_POP_DUE, 1, shard_key(shard), now, limit)
    return [int(member) for member in popped]


def timers_count() -> int:
    redis = get_redis()
    return sum(redis.zcard(shard_key(s)) for s in range(shard_count()))


def pump_once(now: float | None = None, shards: Iterable[int] | None = None) -> int:
    """Pops every due timer of `shards` (default all) in batches and queues engine batches on
    WAKE_QUEUE; returns how many. One pump per shard (`run_timers --shard k`) spreads the popping."""
    now = time.time() if now is None else now
    total = 0
    for shard in range(shard_count()) if shards is None else shards:
        while True:
            ids = timers_pop_due(shard=shard, now=now)
            if ids:
                timer_wakes_send(ids, batch_size=TASK_BATCH)
                total += len(ids)
            if len(ids) < POP_LIMIT:
                break
    return total


def timers_restore() -> int:
    """Re-adds every waiting enrollment's timer from PostgreSQL (after Redis lost them)."""
    restored = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, wake_at FROM journeys_enrollment WHERE state = 'waiting' AND wake_at IS NOT NULL"
        )
        while rows := cursor.fetchmany(ZADD_PIPELINE * 10):
            timers_update(add={row[0]: row[1] for row in rows})
            restored += len(rows)
    return restored


def reconcile(now: datetime | None = None, shards: Iterable[int] | None = None) -> dict:
    """One reconciler pass: restore all timers if Redis lost its data (the epoch marker is
    gone), then re-queue waiting rows overdue by OVERDUE_GRACE and active rows stalled for
    STALLED_GRACE (a lost task), of active journeys only (paused ones hold).

    The restore covers every shard (each id goes back to its own shard), so whichever pump
    notices first repairs all; the re-queue only covers `shards` (default all), so pumps of
    different shards do not queue the same rows twice."""
    now = now or timezone.now()
    redis = get_redis()
    restored = 0
    if not redis.exists(EPOCH_KEY):
        restored = timers_restore()
        redis.set(EPOCH_KEY, now.isoformat())
    owned = list(range(shard_count()) if shards is None else shards)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.id, e.state FROM journeys_enrollment e
            JOIN journeys_journey j ON j.id = e.journey_id AND j.status = 'active'
            WHERE ((e.state = 'waiting' AND e.wake_at <= %s) OR (e.state = 'active' AND e.wake_at <= %s))
              AND e.id %% %s = ANY(%s)
            ORDER BY e.wake_at LIMIT %s
            """,
            [now - OVERDUE_GRACE, now - STALLED_GRACE, shard_count(), owned, RECONCILE_LIMIT],
        )
        rows = cursor.fetchall()
    if rows:
        # The engine's own batch size: these batches mix timer wakes with stalled active rows.
        advance_enqueue([[i, None, {"kind": "timer"} if state == "waiting" else None] for i, state in rows])
    return {"restored": restored, "requeued": len(rows)}


class TimerProcess:
    """The `timers` process: the pump every POLL_SECONDS, the reconciler every
    `reconcile_seconds`. Runs in `manage.py run_timers`, or in a thread in tests."""

    def __init__(self, *, poll_seconds: float = POLL_SECONDS, reconcile_seconds: float = 10.0,
                 shards: Iterable[int] | None = None):
        self.shards = None if shards is None else list(shards)
        self.poll_seconds = poll_seconds
        self.reconcile_seconds = reconcile_seconds
        self.stop_event = threading.Event()

    def run(self) -> None:
        try:
            self._loop()
        finally:
            connection.close()

    def _loop(self) -> None:
        next_reconcile = 0.0
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                if started >= next_reconcile:
                    close_old_connections()
                    reconcile(shards=self.shards)
                    next_reconcile = started + self.reconcile_seconds
                pump_once(shards=self.shards)
            except Exception:
                # Redis or PostgreSQL blipped: keep going, the truth is in PostgreSQL.
                logger.exception("timer pump pass failed")
                self.stop_event.wait(1.0)
            self.stop_event.wait(max(0.0, self.poll_seconds - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stop_event.set()
