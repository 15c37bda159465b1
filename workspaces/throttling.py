"""Per-key rate limit: a fixed one-minute window counted with one Redis INCR per request."""

from __future__ import annotations

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from .redis import get_redis


def _parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    seconds = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
    return int(count), seconds[period]


class WorkspaceKeyThrottle(BaseThrottle):
    scope = "api"

    def allow_request(self, request, view) -> bool:
        rate = getattr(view, "throttle_rate", None) or settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]
        limit, period = _parse_rate(rate)
        auth = getattr(request, "auth", None)
        scope = getattr(view, "throttle_scope", self.scope)
        if getattr(auth, "kind", None) == "publishable":
            # Anyone can copy a key from a web page: it gets its own budget, and one address
            # gets a small share of it, so a single client cannot spend all of it.
            address = self.get_ident(request)
            return self._count(
                f"{scope}:pk:{auth.prefix}", *_parse_rate(settings.PUBLISHABLE_KEY_RATE)
            ) and self._count(
                f"{scope}:pk:{auth.prefix}:ip:{address}",
                *_parse_rate(settings.PUBLISHABLE_KEY_ADDRESS_RATE),
            )
        if auth is not None and hasattr(auth, "prefix"):
            ident = f"key:{auth.prefix}"
        elif getattr(request, "user", None) is not None and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self._count(f"{scope}:{ident}", limit, period)

    def _count(self, ident: str, limit: int, period: int) -> bool:
        now = time.time()
        window = int(now // period)
        redis_key = f"wm:rl:{ident}:{window}"
        pipe = get_redis().pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, period + 1)
        count, _ = pipe.execute()
        self._wait = (window + 1) * period - now
        return count <= limit

    def get_ident(self, request) -> str:
        # DRF's own believes any X-Forwarded-For, which every client can write.
        from .middleware import client_address  # the middleware imports this module

        return client_address(request)

    def wait(self) -> float:
        return max(1.0, self._wait)
