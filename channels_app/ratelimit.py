"""Per-channel send rate limits: a Redis token bucket per ChannelConfig, taken in batches."""

from __future__ import annotations

import time

from workspaces.redis import get_redis

# KEYS[1] bucket hash; ARGV: rate per second, capacity, now (s, float), wanted.
# Refills at `rate`, never beyond `capacity`, and grants min(wanted, available) at once, so a
# batch of 500 sends costs one round trip.
TAKE_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local wanted = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return granted
"""
_script = None


def tokens_take(*, channel_config_id: int, rate_per_second: int | None, wanted: int) -> int:
    """How many of `wanted` sends may go now (all of them when the channel is unlimited). The
    bucket holds one second's worth, so bursts never exceed the configured rate."""
    global _script
    if not rate_per_second or wanted <= 0:
        return wanted
    if _script is None:
        _script = get_redis().register_script(TAKE_LUA)
    return int(
        _script(
            keys=[f"wm:ratelimit:channel:{channel_config_id}"],
            args=[rate_per_second, rate_per_second, f"{time.time():.6f}", wanted],
        )
    )
