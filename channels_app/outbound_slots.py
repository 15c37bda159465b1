"""Per-workspace outbound slots: at most OUTBOUND_SLOTS_PER_WORKSPACE webhook calls and send
batches of one workspace run at once, so one tenant's slow targets cannot hold every worker of
the outbound pool. A Redis sorted set per workspace holds the slots taken, scored by when each
lapses, so a slot a killed worker never gave back frees itself."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from workspaces.redis import get_redis

# KEYS[1] the workspace's slot set; ARGV: now (s), lapse (s from now), limit, token.
ACQUIRE_LUA = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
return 1
"""
# A slot outlives the longest outbound task (its hard time limit, config/celery.py), no more.
SLOT_LAPSE_SECONDS = 330
_script = None


def _key(workspace_id: int) -> str:
    return f"wm:outbound:slots:{workspace_id}"


@contextmanager
def outbound_slot(*, workspace_id: int) -> Iterator[bool]:
    """Yields True holding one of the workspace's slots (given back on exit), or False when all
    are taken: the caller queues its work again a little later (`slot_retry_seconds`)."""
    global _script
    if _script is None:
        _script = get_redis().register_script(ACQUIRE_LUA)
    token = uuid.uuid4().hex
    granted = bool(
        _script(
            keys=[_key(workspace_id)],
            args=[
                f"{time.time():.6f}",
                SLOT_LAPSE_SECONDS,
                settings.OUTBOUND_SLOTS_PER_WORKSPACE,
                token,
            ],
        )
    )
    try:
        yield granted
    finally:
        if granted:
            get_redis().zrem(_key(workspace_id), token)


def slot_retry_seconds(waits: int) -> float:
    """When a task that found no free slot `waits` times before tries again: 0.5 s doubling up
    to 30 s, so a workspace with thousands of calls queued re-checks at most ~1/30 of them a
    second, jittered so they do not all come back in the same instant."""
    return min(30.0, 0.5 * 2 ** min(waits, 6)) * random.uniform(0.75, 1.25)
