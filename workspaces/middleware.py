"""Request guards in front of every view: body size limits (413) and a backing service that is
down (503), both answered with the API's error body instead of Django's HTML or a 500."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError

from .errors import path_error

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


class RequestGuardMiddleware:
    """Django middleware: refuses a declared Content-Length above the limit before anything
    reads the body, and turns a database or Redis outage anywhere below into a 503."""

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
        return self.get_response(request)

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
