"""Request guards in front of every view: body size limits (413), a NUL character in the path,
query or headers (400), an address that keeps failing authentication (429), and a backing service
that is down (503), all answered with the API's error body instead of Django's HTML or a 500."""

from __future__ import annotations

import ipaddress
import logging
import time
from functools import lru_cache

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError

from .errors import path_error
from .parsers import text_problem
from .throttling import _parse_rate

logger = logging.getLogger(__name__)

# Paths whose bodies are ours to limit: the API and the Segment-compatible tracking API.
LIMITED_PREFIXES = ("/api/", "/v1/")
# Bodies that are files (CSV imports and uploads) may reach MAX_UPLOAD_SIZE; every other body
# is parsed in memory (JSON), so DATA_UPLOAD_MAX_MEMORY_SIZE bounds it. DRF reads the request
# stream itself and never applies Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, hence this.
FILE_CONTENT_TYPES = ("multipart/form-data", "text/csv", "application/octet-stream")


def body_limit(path: str, content_type: str) -> int | None:
    """The most bytes a request body to `path` may carry, or None when we do not limit it."""
    if not path.startswith(LIMITED_PREFIXES):
        return None
    if content_type.split(";")[0].strip().lower() in FILE_CONTENT_TYPES:
        return settings.MAX_UPLOAD_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


def request_line_problem(request) -> dict[str, list[str]] | None:
    """The API's 400 details for text outside the body that PostgreSQL cannot store (a NUL; what
    the server decodes holds no lone surrogate): the path, a query parameter or a header. No view
    could use such a value, and left alone it fails in the database as a 500. Bodies are checked
    by the parsers (workspaces/parsers.py)."""
    problem = text_problem(request.path)
    if problem:
        return {"path": [problem]}
    for name, values in request.GET.lists():
        where = "query" if text_problem(name) else f"query.{name}"  # never echo the bad text itself
        for value in (name, *values):
            problem = text_problem(value)
            if problem:
                return {where: [problem]}
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str):
            problem = text_problem(value)
            if problem:
                return {f"header.{name[5:].replace('_', '-').title()}": [problem]}
    return None


# ---- Failed authentication, per client address ---------------------------------------------
# A flood of requests without a key or with a wrong one costs a key lookup (a database query)
# each, and per-key limits cannot see it: there is no key. So 401 answers are counted per client
# address in Redis, and an address past AUTH_FAILURE_RATE gets 429 before its next request is
# authenticated at all. Only failures count: one address sending heavy, well-keyed ingest is
# limited per key (workspaces/throttling.py), not here.
DEFAULT_AUTH_FAILURE_RATE = "60/min"


def _trusted(address: str, proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def client_address(request) -> str:
    """The address of the client behind the request. X-Forwarded-For is believed only as far as
    it was written by proxies listed in TRUSTED_PROXIES (addresses or networks): from the right,
    the first entry that is not one of them is the client. Without trusted proxies, REMOTE_ADDR."""
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = getattr(settings, "TRUSTED_PROXIES", None) or []
    if not proxies or not _trusted(address, proxies):
        return address
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else address


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    # One pooled client per process: the gate runs on every API request.
    return redis.Redis.from_url(url, socket_timeout=1, health_check_interval=30)


def _failure_window() -> tuple[int, int, str]:
    limit, period = _parse_rate(getattr(settings, "AUTH_FAILURE_RATE", DEFAULT_AUTH_FAILURE_RATE))
    window = int(time.time() // period)
    return limit, period, f"wm:authfail:{window}:"


def auth_failures_retry_after(address: str) -> int | None:
    """Seconds until `address` may try again, or None when it is under the limit."""
    limit, period, prefix = _failure_window()
    count = _redis(settings.REDIS_URL).get(prefix + address)
    if count is None or int(count) < limit:
        return None
    return max(1, int(period - time.time() % period))


def auth_failure_record(address: str) -> None:
    _, period, prefix = _failure_window()
    pipe = _redis(settings.REDIS_URL).pipeline()
    pipe.incr(prefix + address)
    pipe.expire(prefix + address, period + 1)
    pipe.execute()


class RequestGuardMiddleware:
    """Django middleware: refuses a declared Content-Length above the limit before anything
    reads the body, and a NUL in the request line or headers; turns a database or Redis outage
    anywhere below into a 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit(request.path, request.META.get("CONTENT_TYPE", ""))
        if limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return path_error(request.path, 400, "bad_request", "Content-Length is not a number.")
            if length > limit:
                return path_error(request.path, 413, "payload_too_large", _too_large_message(limit))
        details = request_line_problem(request)
        if details:
            where, [message] = next(iter(details.items()))
            return path_error(request.path, 400, "validation_error", f"{where}: {message}", details)
        if not request.path.startswith(LIMITED_PREFIXES):
            return self.get_response(request)
        address = client_address(request)
        try:
            retry_after = auth_failures_retry_after(address)
        except redis.RedisError:
            retry_after = None  # the gate fails open; the per-key throttle answers 503 for Redis
        if retry_after is not None:
            response = path_error(
                request.path, 429, "throttled",
                f"Too many failed authentications from this address; retry in {retry_after} s.",
            )
            response["Retry-After"] = str(retry_after)
            return response
        response = self.get_response(request)
        if response.status_code == 401:
            try:
                auth_failure_record(address)
            except redis.RedisError:
                logger.warning("could not count a failed authentication: Redis unavailable")
        return response

    def process_exception(self, request, exception):
        # DRF views already answer 503 through workspaces.errors; this covers everything else
        # (middleware, plain views) so a client never sees a 500 for an outage it can retry.
        if isinstance(exception, (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)):
            logger.warning("backing service unavailable: %s", exception.__class__.__name__)
            response = path_error(
                request.path, 503, "service_unavailable", "A backing service is unavailable; retry shortly."
            )
            response["Retry-After"] = "5"
            return response
        return None


class BodyLimitASGIMiddleware:
    """ASGI wrapper for the real server: Django's ASGI handler spools the whole body to disk
    before any Django middleware runs, so a chunked upload without Content-Length (or one that
    lies about it) is cut off here as soon as it passes the limit."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin1").lower(): v.decode("latin1") for k, v in scope.get("headers", [])}
        limit = body_limit(scope.get("path", ""), headers.get("content-type", ""))
        if limit is None:
            return await self.app(scope, receive, send)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return await self._refuse(send, scope["path"], limit)

        received = 0
        too_large = False

        async def limited_receive():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    # Django sees a disconnect and stops reading; we answer 413 below.
                    return {"type": "http.disconnect"}
            return message

        response_started = False

        async def tracking_send(message):
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)
        if too_large and not response_started:
            await self._refuse(send, scope["path"], limit)

    @staticmethod
    async def _refuse(send, path: str, limit: int) -> None:
        body = path_error(path, 413, "payload_too_large", _too_large_message(limit)).content
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
