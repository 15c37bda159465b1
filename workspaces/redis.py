"""One shared Redis connection pool for the app's own use (timers, rate limits, progress)."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
